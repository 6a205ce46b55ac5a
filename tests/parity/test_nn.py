"""PyTorch parity of the layer kernels (src/nn, conv2d aside).

build/tests/parity/nn_dump writes each case's float32 inputs, outputs and gradients (for a random
upstream gradient `dout`) to a safetensors file; this script recomputes every output and gradient
with torch.nn.functional in float64 from the same inputs and compares: max |c - t| <= 1e-4 · max |t|.
Prints one line per compared tensor and a final "N passed, N failed"."""
import functools

import numpy as np
import torch
import torch.nn.functional as F

import parity

compare = functools.partial(parity.close, tol=1e-4)


def leaf(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def grads(out, dout, *leaves):
    """Gradients of sum(out · dout) with respect to leaves."""
    return torch.autograd.grad(out, leaves, grad_outputs=torch.tensor(dout, dtype=torch.float64))


def check_linear(cs, t, p):
    x, w = leaf(t["inp"]), leaf(t["w"])
    b = leaf(t["b"]) if p["bias"] else None
    y = F.linear(x, w, b)
    compare(f"{cs}.out", t["out"], y)
    g = grads(y, t["dout"], x, w, *([b] if b is not None else []))
    compare(f"{cs}.dinp", t["dinp"], g[0])
    compare(f"{cs}.dw", t["dw"], g[1])
    if b is not None:
        compare(f"{cs}.db", t["db"], g[2])


def check_bn(cs, t, p):
    eps, mom = p["eps"], p["momentum"]
    x, g, b = leaf(t["inp"]), leaf(t["gamma"]), leaf(t["beta"])
    rm = torch.tensor(t["rm0"], dtype=torch.float64)
    rv = torch.tensor(t["rv0"], dtype=torch.float64)
    y = F.batch_norm(x, rm, rv, g, b, training=True, momentum=mom, eps=eps)
    compare(f"{cs}.out", t["out"], y)
    compare(f"{cs}.running_mean", t["rm"], rm)
    compare(f"{cs}.running_var", t["rv"], rv)
    xd = x.detach()
    compare(f"{cs}.mean", t["mean"], xd.mean((0, 2)))
    compare(f"{cs}.invstd", t["invstd"], 1.0 / torch.sqrt(xd.var((0, 2), unbiased=False) + eps))
    dx, dg, db = grads(y, t["dout"], x, g, b)
    compare(f"{cs}.dinp", t["dinp"], dx)
    compare(f"{cs}.dgamma", t["dgamma"], dg)
    compare(f"{cs}.dbeta", t["dbeta"], db)
    # evaluation mode with the initial running statistics
    x = leaf(t["inp"])
    rm = torch.tensor(t["rm0"], dtype=torch.float64)
    rv = torch.tensor(t["rv0"], dtype=torch.float64)
    y = F.batch_norm(x, rm, rv, torch.tensor(t["gamma"], dtype=torch.float64),
                     torch.tensor(t["beta"], dtype=torch.float64), training=False, eps=eps)
    compare(f"{cs}.eval_out", t["eval_out"], y)
    compare(f"{cs}.eval_dinp", t["eval_dinp"], grads(y, t["dout"], x)[0])


def check_relu(cs, t, p):
    x = leaf(t["inp"])
    y = torch.relu(x)
    compare(f"{cs}.out", t["out"], y)
    compare(f"{cs}.dinp", t["dinp"], grads(y, t["dout"], x)[0])


def check_dropout(cs, t, p):
    """PyTorch's mask cannot be reproduced; check the op given the C mask: values in {0, 1/(1-p)},
    out = inp · mask, dinp = dout · mask, and a dropped fraction near p."""
    m, keep = t["mask"], np.float32(1.0 / (1.0 - p["p"]))
    frac = float((m == 0).mean())
    ok = bool(np.all((m == 0) | (m == keep))) and abs(frac - p["p"]) < 5 * np.sqrt(p["p"] * (1 - p["p"]) / m.size)
    parity.report(ok, f"{cs}.mask  dropped {frac:.3f} (p {p['p']})")
    x, mask = leaf(t["inp"]), torch.tensor(m, dtype=torch.float64)
    y = x * mask
    compare(f"{cs}.out", t["out"], y)
    compare(f"{cs}.dinp", t["dinp"], grads(y, t["dout"], x)[0])


def check_avgpool(cs, t, p):
    x = leaf(t["inp"])
    y = F.avg_pool2d(x, p["K"])
    compare(f"{cs}.out", t["out"], y)
    compare(f"{cs}.dinp", t["dinp"], grads(y, t["dout"], x)[0])


def check_maxpool(cs, t, p):
    x = leaf(t["inp"])
    y, idx = F.max_pool2d(x, p["K"], p["stride"], p["pad"], return_indices=True)
    compare(f"{cs}.out", t["out"], y)
    ok = t["argmax"].shape == tuple(idx.shape) and bool(np.all(t["argmax"] == idx.numpy()))
    parity.report(ok, f"{cs}.argmax  equal")
    compare(f"{cs}.dinp", t["dinp"], grads(y, t["dout"], x)[0])


def check_gap(cs, t, p):
    x = leaf(t["inp"])
    y = x.mean((2, 3))
    compare(f"{cs}.out", t["out"], y)
    compare(f"{cs}.dinp", t["dinp"], grads(y, t["dout"], x)[0])


def check_add(cs, t, p):
    a, b = leaf(t["a"]), leaf(t["b"])
    y = a + b
    compare(f"{cs}.out", t["out"], y)
    da, db = grads(y, t["dout"], a, b)
    compare(f"{cs}.da", t["da"], da)
    compare(f"{cs}.db", t["db"], db)


def check_shortcut(cs, t, p):
    x = leaf(t["inp"])
    P = (p["OC"] - p["C"]) // 2
    y = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, P, P))
    compare(f"{cs}.out", t["out"], y)
    compare(f"{cs}.dinp", t["dinp"], grads(y, t["dout"], x)[0])


CHECKS = {"linear": check_linear, "bn": check_bn, "relu": check_relu, "dropout": check_dropout,
          "avgpool": check_avgpool, "maxpool": check_maxpool, "gap": check_gap, "add": check_add,
          "shortcut": check_shortcut}


def parse(desc):
    p = {}
    for kv in desc.split():
        k, v = kv.split("=", 1)
        p[k] = v if k == "op" else (int(v) if v.lstrip("-").isdigit() else float(v))
    return p


if __name__ == "__main__":
    torch.set_num_threads(1)
    for cs, desc, t in parity.cases(*parity.load("nn_dump")):
        p = parse(desc)
        CHECKS[p["op"]](cs, t, p)
    parity.finish()
