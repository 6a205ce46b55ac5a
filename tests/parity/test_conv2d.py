"""tl_conv2d (grouped too) against torch.nn.functional.conv2d in float64 with autograd: output and the gradients
accumulated onto pre-filled buffers (dx = dx0 + dL/dx for L = sum(y * dy)), rtol 1e-4. Run twice:
with oneDNN's default ISA (AVX-512 here: nChw16c layouts, the plan's own dinp accumulation) and
capped at AVX2 (nChw8c: the oneDNN sum-reorder accumulation)."""
import os

import numpy as np
import torch

import parity
import st


def close(name, got, want, rtol=1e-4, atol=1e-4):
    err = np.abs(got - want) - (atol + rtol * np.abs(want))
    if err.max() > 0:
        i = int(err.argmax())
        print(f"  {name}: {int((err > 0).sum())} of {err.size} off; worst {got.flat[i]} vs {want.flat[i]}")
        return False
    return True


def check(path, label):
    t, meta = st.load(path)
    s, p, has_b, g = int(meta["stride"]), int(meta["pad"]), meta["bias"] == "1", int(meta["groups"])
    x = torch.tensor(t["x"], dtype=torch.float64, requires_grad=True)
    w = torch.tensor(t["w"], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(t["b"], dtype=torch.float64, requires_grad=True) if has_b else None
    y = torch.nn.functional.conv2d(x, w, b, stride=s, padding=p, groups=g)
    (y * torch.tensor(t["dy"], dtype=torch.float64)).sum().backward()
    ok = close("y", t["y"], y.detach().numpy())
    ok &= close("dx", t["dx"], t["dx0"] + x.grad.numpy())
    ok &= close("dw", t["dw"], t["dw0"] + w.grad.numpy())
    ok &= close("db", t["db"], t["db0"] + (b.grad.numpy() if has_b else 0))
    parity.report(ok, f"{label} x{list(t['x'].shape)} w{list(t['w'].shape)} s{s} p{p} bias{int(has_b)} groups{g}")


if __name__ == "__main__":
    for isa in ("default", "AVX2"):
        env = dict(os.environ)
        if isa != "default":
            env["DNNL_MAX_CPU_ISA"] = isa
        with parity.dump("conv_dump", parity.DIR, env=env) as d:
            for f in sorted(f for f in os.listdir(d) if f.startswith("conv_")):
                check(os.path.join(d, f), f"{isa} {f}")
    parity.finish()
