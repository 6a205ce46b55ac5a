"""tl_conv2d against torch.nn.functional.conv2d in float64 with autograd: output and the gradients
accumulated onto pre-filled buffers (dx = dx0 + dL/dx for L = sum(y * dy)), rtol 1e-4. Run twice:
with oneDNN's default ISA (AVX-512 here: nChw16c layouts, the plan's own dinp accumulation) and
capped at AVX2 (nChw8c: the oneDNN sum-reorder accumulation)."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

BUILD = os.environ.get("TL_BUILD", "build")


def close(name, got, want, rtol=1e-4, atol=1e-4):
    err = np.abs(got - want) - (atol + rtol * np.abs(want))
    if err.max() > 0:
        i = int(err.argmax())
        print(f"  {name}: {int((err > 0).sum())} of {err.size} off; worst {got.flat[i]} vs {want.flat[i]}")
        return False
    return True


def check(path, label):
    t, meta = st.load(path)
    s, p, has_b = int(meta["stride"]), int(meta["pad"]), meta["bias"] == "1"
    x = torch.tensor(t["x"], dtype=torch.float64, requires_grad=True)
    w = torch.tensor(t["w"], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(t["b"], dtype=torch.float64, requires_grad=True) if has_b else None
    y = torch.nn.functional.conv2d(x, w, b, stride=s, padding=p)
    (y * torch.tensor(t["dy"], dtype=torch.float64)).sum().backward()
    ok = close("y", t["y"], y.detach().numpy())
    ok &= close("dx", t["dx"], t["dx0"] + x.grad.numpy())
    ok &= close("dw", t["dw"], t["dw0"] + w.grad.numpy())
    ok &= close("db", t["db"], t["db0"] + (b.grad.numpy() if has_b else 0))
    print(("ok  " if ok else "FAIL") + f" {label} x{list(t['x'].shape)} w{list(t['w'].shape)} s{s} p{p} bias{int(has_b)}")
    return ok


def main():
    passed = failed = 0
    for isa in ("default", "AVX2"):
        env = dict(os.environ)
        if isa != "default":
            env["DNNL_MAX_CPU_ISA"] = isa
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([os.path.join(BUILD, "tests", "parity", "conv_dump"), d], check=True, env=env)
            for f in sorted(f for f in os.listdir(d) if f.startswith("conv_")):
                ok = check(os.path.join(d, f), f"{isa} {f}")
                passed += ok
                failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
