"""Parity of src/transfer/kd.c and rkd.c with the distillation losses of methods.md §10, written in
float64 PyTorch the way the reference code writes them (python/tailor_torch.py: Hinton KD as kl_div of
log-softmaxes times T²; lenscloth/RKD's pdist, RkdDistance and RKdAngle with smooth_l1_loss), on the
same float32 inputs
(build/tests/parity/distill_dump). Loss within rtol 1e-6, gradients within rtol 1e-5 (atol 1e-9:
tailor stores them in float32).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402
from tailor_torch import kd_loss as kd, rkd_angle, rkd_distance  # noqa: E402

BUILD = os.environ.get("TL_BUILD", "build")
passed = failed = 0


def report(ok, what):
    global passed, failed
    passed += ok
    failed += not ok
    print(("ok   " if ok else "FAIL ") + what)


def main():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "distill.safetensors")
        subprocess.run([os.path.join(BUILD, "tests", "parity", "distill_dump"), path], check=True)
        t, meta = st.load(path)
    f64 = {k: torch.from_numpy(t[k].astype(np.float64)) for k in ("zs", "zt", "S", "T")}
    cases = {
        "kd": ("zs", lambda x: kd(x, f64["zt"], 4.0)),
        "kd_t1": ("zs", lambda x: kd(x, f64["zt"], 1.0)),
        "rkd_d": ("S", lambda x: rkd_distance(x, f64["T"])),
        "rkd_a": ("S", lambda x: rkd_angle(x, f64["T"])),
        "rkd_d_norm": ("S", lambda x: rkd_distance(F.normalize(x, dim=1), F.normalize(f64["T"], dim=1))),
        "rkd_a_norm": ("S", lambda x: rkd_angle(F.normalize(x, dim=1), F.normalize(f64["T"], dim=1))),
    }
    for key, (inp, fn) in cases.items():
        x = f64[inp].clone().requires_grad_()
        want = fn(x)
        want.backward()
        got_l = float(meta[key])
        got_g, want_g = t[f"{key}.grad"].astype(np.float64), x.grad.numpy()
        ok_l = abs(got_l - want.item()) <= 1e-6 * abs(want.item())
        ok_g = np.allclose(got_g, want_g, rtol=1e-5, atol=1e-9)
        err_g = np.max(np.abs(got_g - want_g) / np.maximum(np.abs(want_g), 1e-9))
        report(ok_l and ok_g, f"{key:11s} loss {got_l:.9g} vs {want.item():.9g}, max rel grad diff {err_g:.1e}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
