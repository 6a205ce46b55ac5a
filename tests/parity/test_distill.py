"""Parity of src/transfer/kd.c and rkd.c with the distillation losses of docs/methods.md §10, written in
float64 PyTorch the way the reference code writes them (python/tailor_torch.py: Hinton KD as kl_div of
log-softmaxes times T²; lenscloth/RKD's pdist, RkdDistance and RKdAngle with smooth_l1_loss), on the
same float32 inputs
(build/tests/parity/distill_dump). Loss within rtol 1e-6, gradients within rtol 1e-5 (atol 1e-9:
tailor stores them in float32).
"""
import numpy as np
import torch
import torch.nn.functional as F

import parity
from tailor_torch import kd_loss as kd, rkd_angle, rkd_distance


def main():
    t, meta = parity.load("distill_dump")
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
        parity.loss_and_grad(key, meta[key], want.item(), t[f"{key}.grad"], x.grad, 1e-6, 1e-5, 1e-9)


if __name__ == "__main__":
    main()
    parity.finish()
