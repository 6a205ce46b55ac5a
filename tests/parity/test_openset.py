"""Parity of the rpl and gcpl heads with PyTorch float64 implementations of docs/methods.md §13.

tests/parity/openset_dump.c writes random inputs and tailor's logits, unknown scores, backward
gradients (from given dlogits) and regularizer value and gradients. Here the same formulas run in
torch float64 with autograd: the heads of python/tailor_torch.py (RPLHead, GCPLHead), and for one
point per class also the expressions of the reference code (iCGY96/ARPL RPLoss.py, GCPLoss.py:
mse_loss of the mean squared distance against the radius; mse_loss(x, centre) / 2).

Tolerance: max |tailor − torch| <= 1e-5 · max(1, max |torch|) per tensor. The inputs are float32 values,
exact in float64; tailor sums in double but stores d_e, the logits and G = ∂L/∂d_e in float32 (unit
roundoff 6e-8) before the next step, so each output carries a few float32 roundings of quantities of the
tensor's own scale: about 1e-7 of its largest entry (measured: at most 8e-8). 1e-5 leaves a tenfold margin while any
formula error (a factor 2, M, D or γ, a sign, the wrong radius) shows up at 1e-1 or more.
"""
import functools
import os

import torch
import torch.nn.functional as F

import parity
import st
import tailor_torch

check = functools.partial(parity.close, tol=1e-5, floor=1.0)


def run_case(path):
    t, meta = st.load(path)
    spec = meta["head"]
    name = spec.split(":")[0]
    x0 = torch.from_numpy(t["feat"]).double()
    y = torch.from_numpy(t["labels"]).long()
    N, D = x0.shape
    C = t["dlogits"].shape[1]
    head = tailor_torch.make_head(spec, D, C).double()
    tensors = {k[len("head."):]: v for k, v in t.items() if k.startswith("head.")}
    head.load_state_dict({k: torch.from_numpy(v).double() for k, v in tensors.items()}, strict=True)
    tag = f"{os.path.basename(path)} {spec}"

    x = x0.clone().requires_grad_(True)
    logits = head(x)
    check(f"{tag} logits", t["logits"], logits.detach())
    check(f"{tag} unknown score", t["score"], head.unknown_score(logits.detach()))
    (logits * torch.from_numpy(t["dlogits"]).double()).sum().backward()
    check(f"{tag} backward dfeat", t["bwd.feat"], x.grad)
    for k, p in head.named_parameters():   # the radius does not enter the logits: no gradient
        check(f"{tag} backward d{k}", t[f"bwd.head.{k}"], torch.zeros_like(p) if p.grad is None else p.grad)

    head.zero_grad()
    x = x0.clone().requires_grad_(True)
    reg = head.regularizer(x, y)
    reg.backward()
    check(f"{tag} regularizer", float(meta["reg"]), reg.item())
    check(f"{tag} regularizer dfeat", t["reg.feat"], x.grad)
    for k, p in head.named_parameters():
        check(f"{tag} regularizer d{k}", t[f"reg.head.{k}"], p.grad)

    # One point per class: the reference code's own expressions give the same regularizer.
    if "points=" not in spec:
        lam = float(dict(kv.split("=") for kv in spec.partition(":")[2].split(",") if kv).get("lambda", 0.1))
        if name == "rpl":
            q, r = head.points.detach(), head.radius.detach()
            dis = (x0 - q[y]).pow(2).mean(1)
            ref = lam * F.mse_loss(dis, r.expand_as(dis))
        else:
            q = head.prototypes.detach()
            ref = lam * F.mse_loss(x0, q[y]) / 2
        check(f"{tag} regularizer = reference code", float(meta["reg"]), ref.item())


with parity.dump("openset_dump", parity.DIR) as tmp:
    for f in sorted(os.listdir(tmp)):
        run_case(os.path.join(tmp, f))
parity.finish()
