"""PyTorch parity of SLA (docs/methods.md §11; src/heads/sla.c, src/nn/rot90.c).

build/tests/parity/sla_dump writes (1) the kernels on fixed float32 joint logits: the aggregated and
single class logits, the joint loss (plain and large_loss) and its gradient with respect to the joint
logits, the SD loss (T = 1, 2.5) and its gradient with respect to the distilled head's logits; (2) a
whole cnn with the sla head (plain, and sd=1 with T=2, training_agg and large_loss): training-mode class
logits, the training objective, the features of the 4 rotations and their gradient, the gradient of
the rotated input, every parameter gradient, the BN statistics, and the evaluation-mode logits of each
inference. This script recomputes them with python/tailor_torch.py (torch.rot90 for the rotations,
autograd for the gradients).

Kernels: the reference is float64 on the same float32 inputs, tolerance 1e-5 relative to each tensor's
largest magnitude (the C side computes in double and rounds once: ~1e-7). Whole model: as
tests/parity/test_models.py, the float64 reference with a tolerance of max(1e-4, 2 x PyTorch's own
float32 error on that tensor)."""
import functools

import torch

import parity
import st
import tailor_torch as tt

close = functools.partial(parity.close, tol=1e-5, floor=1e-2)


def kernels(d):
    J = torch.tensor(d["k.J"], dtype=torch.float64, requires_grad=True)
    h = torch.tensor(d["k.h"], dtype=torch.float64, requires_grad=True)
    y = torch.tensor(d["k.y"], dtype=torch.long)
    agg = tt.sla_aggregate(J)
    close("aggregate", d["k.agg"], agg.detach())
    close("single", d["k.single"], tt.sla_aggregate(J, 0).detach())
    for suffix, large in (("", False), ("_large", True)):
        J.grad = None
        loss = tt.sla_joint_loss(J, y, large)
        loss.backward()
        close(f"joint loss{suffix}", d[f"k.joint_loss{suffix}"], loss.detach())
        close(f"joint dJ{suffix}", d[f"k.joint_dJ{suffix}"], J.grad)
    for T in ("1", "2.5"):
        h.grad = None
        loss = tt.sla_sd_loss(h, agg, y, float(T))
        loss.backward()
        close(f"sd loss T={T}", d[f"k.sd_loss_T{T}"], loss.detach())
        close(f"sd dh T={T}", d[f"k.sd_dh_T{T}"], h.grad)


def run_torch(path, d, p, dtype):
    model = tt.load(path).to(dtype).train()
    x = torch.tensor(d[f"{p}.x"], dtype=dtype, requires_grad=True)
    y = torch.tensor(d[f"{p}.y"], dtype=torch.long)
    rows = tt.rotations(x)
    rows.retain_grad()
    feat = model.backbone(rows)
    feat.retain_grad()
    logits = model.head(feat, y)
    loss = model.head.loss(feat, y)
    loss.backward()
    out = {"logits": logits, "loss": loss, "feat": feat, "dfeat": feat.grad, "input_grad": rows.grad}
    for name, q in model.named_parameters():
        out["grad/" + name] = q.grad
    for name, b in model.named_buffers():
        if "num_batches" not in name:
            out["state1/" + name] = b
    model.eval()
    for mode in ("agg", "single", "sd"):
        if mode == "sd" and not model.head.distill:
            continue
        model.head.infer = mode
        with torch.no_grad():
            out["eval_" + mode] = model(x.detach())
    return {k: v.detach().double().numpy() for k, v in out.items()}


def whole_model(d, meta, out, p):
    path = f"{out}.{p}.model"
    ref64, ref32 = run_torch(path, d, p, torch.float64), run_torch(path, d, p, torch.float32)
    keys = [k[len(p) + 1:] for k in d if k.startswith(p + ".") and k not in (f"{p}.x", f"{p}.y")]
    for k in keys:
        if k in ref64:
            parity.close_to_torch(f"{meta[p]} {k}", d[f"{p}.{k}"], ref64[k], ref32[k])
        else:
            parity.report(False, f"{meta[p]} {k} (missing in PyTorch)")
    missing = set(ref64) - set(keys)
    parity.report(not missing, f"{meta[p]}: every PyTorch tensor dumped {sorted(missing)}")


torch.manual_seed(0)
with parity.dump("sla_dump", parity.FILE) as out:
    dump, meta = st.load(out)
    kernels(dump)
    for p in ("m0", "m1"):
        whole_model(dump, meta, out, p)
parity.finish()
