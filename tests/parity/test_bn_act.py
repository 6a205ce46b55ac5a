"""PyTorch parity of the fused BN + residual + ReLU kernels (src/nn/bn_act.c).

build/tests/parity/bn_act_dump writes each case's float32 inputs, outputs and gradients; this script
recomputes torch.relu(F.batch_norm(x) + res) (training and evaluation mode) and its gradients in
float64 and compares: max |c - t| <= 1e-4 · max |t|. Prints a final "N passed, N failed"."""
import functools

import torch
import torch.nn.functional as F

import parity

compare = functools.partial(parity.close, tol=1e-4)


def f64(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def check(cs, t, p):
    eps, mom, relu, res = p["eps"], p["momentum"], p["relu"], p["res"]
    for mode in ("train", "eval"):
        x, g, b = f64(t["inp"], True), f64(t["gamma"], True), f64(t["beta"], True)
        r = f64(t["res"], True) if res else None
        rm, rv = f64(t["rm0"]), f64(t["rv0"])
        y = F.batch_norm(x, rm, rv, g, b, training=mode == "train", momentum=mom, eps=eps)
        if r is not None:
            y = y + r
        if relu:
            y = torch.relu(y)
        pre = "" if mode == "train" else "eval_"
        compare(f"{cs}.{pre}out", t[f"{pre}out"], y)
        leaves = [x] + ([r] if r is not None else []) + ([g, b] if mode == "train" else [])
        gr = torch.autograd.grad(y, leaves, grad_outputs=f64(t["dout"]))
        compare(f"{cs}.{pre}dinp", t[f"{pre}dinp"], gr[0])
        if r is not None:
            compare(f"{cs}.{pre}dres", t[f"{pre}dres"], gr[1])
        if mode == "train":
            compare(f"{cs}.dgamma", t["dgamma"], gr[-2])
            compare(f"{cs}.dbeta", t["dbeta"], gr[-1])
            compare(f"{cs}.running_mean", t["rm"], rm)
            compare(f"{cs}.running_var", t["rv"], rv)
            xd = x.detach()
            compare(f"{cs}.mean", t["mean"], xd.mean((0, 2)))
            compare(f"{cs}.invstd", t["invstd"], 1.0 / torch.sqrt(xd.var((0, 2), unbiased=False) + eps))


if __name__ == "__main__":
    torch.set_num_threads(1)
    for cs, desc, t in parity.cases(*parity.load("bn_act_dump")):
        p = {k: float(v) if "." in v or "e" in v else int(v) for k, v in (kv.split("=") for kv in desc.split())}
        check(cs, t, p)
    parity.finish()
