"""Parity of src/losses/*.c with the formulas of docs/methods.md §3, written in float64 PyTorch.

build/tests/parity/losses_dump evaluates every loss spec on random logits (linear: normal·3; cosine:
30·U(-1, 1)) with long-tailed labels and class counts, weights on and off, and DRW before and at its
epoch. Here each formula is rebuilt with torch autograd in float64 on the same float32 inputs; the
loss and ∂L/∂z must agree within rtol 1e-5 (gradient entries also atol 1e-8: tailor stores them in
float32).
"""
import numpy as np
import torch
import torch.nn.functional as F

import parity


def class_weights(n, kind, beta):
    """docs/methods.md §3.1, normalised to sum to C."""
    if kind == "inverse":
        r = 1.0 / n
    elif kind == "sqrt-inverse":
        r = 1.0 / torch.sqrt(n)
    elif kind == "effective":
        r = (1 - beta) / -torch.expm1(n * np.log(beta))
    else:
        return None
    return r * len(n) / r.sum()


def weighted_mean_ce(u, y, w):
    """torch cross_entropy with weight= (the weighted mean, docs/methods.md §0.3)."""
    return F.cross_entropy(u, y, weight=w)


def reference(spec, z, y, n, epoch):
    name, _, rest = spec.partition(":")
    kv = dict(p.split("=") for p in rest.split(",")) if rest else {}
    w = class_weights(n, kv.get("weights", "none"), float(kv.get("beta", 0.9999)))
    if w is not None and epoch < int(kv.get("drw", 0)):
        w = None
    N, C = z.shape
    onehot = F.one_hot(y, C).to(z.dtype)
    if name == "ce":
        return weighted_mean_ce(z, y, w)
    if name == "sigmoid":  # §3.4: Σ w_y M·BCE / N
        g = float(kv.get("gamma", 0))
        bce = F.softplus(z) - onehot * z
        mod = torch.exp(-g * onehot * z - g * F.softplus(-z))
        wy = w[y] if w is not None else torch.ones(N, dtype=z.dtype)
        return (wy[:, None] * mod * bce).sum() / N
    if name == "focal":
        g = float(kv.get("gamma", 1))
        ce = F.cross_entropy(z, y, reduction="none")
        wy = w[y] if w is not None else torch.ones(N, dtype=z.dtype)
        if kv.get("variant") == "ldam":  # §3.3, LDAM-DRW code: ℓ = w·CE, (1 - e^-ℓ)^γ ℓ, mean
            ell = wy * ce
            return ((1 - torch.exp(-ell)) ** g * ell).mean()
        logp = -ce
        return (-wy * (1 - torch.exp(logp)) ** g * logp).mean()
    if name == "ldam":  # §3.6 on s·cos with s = 30
        s, max_m = float(kv.get("s", 30)), float(kv.get("max_m", 0.5))
        d = n ** -0.25
        delta = max_m * d / d.max()
        return weighted_mean_ce(z - s * delta[y][:, None] * onehot, y, w)
    if name == "logit-adjust":  # §3.7
        tau = float(kv.get("tau", 1))
        return weighted_mean_ce(z + torch.log((n / n.sum()) ** tau + 1e-12), y, w)
    if name == "balanced-softmax":  # §3.8
        return weighted_mean_ce(z + torch.log(n), y, w)
    raise ValueError(spec)


def main():
    t, meta = parity.load("losses_dump")
    y = torch.from_numpy(t["y"].astype(np.int64))
    n = torch.from_numpy(t["count"].astype(np.float64))
    for key, val in meta.items():
        spec, head, epoch, loss = val.split("|")
        z = torch.from_numpy(t[f"logits_{head}"].astype(np.float64)).requires_grad_()
        want = reference(spec, z, y, n, int(epoch))
        want.backward()
        parity.loss_and_grad(f"{key} {spec} (epoch {epoch})", loss, want.item(), t[f"{key}.grad"], z.grad,
                             1e-5, 1e-5, 1e-8)


if __name__ == "__main__":
    main()
    parity.finish()
