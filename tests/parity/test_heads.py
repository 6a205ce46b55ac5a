"""PyTorch parity of every head (src/heads): logits, the training objective and its gradients with
respect to the features and each head parameter, and the inference logits.

build/tests/parity/heads_dump runs each head on fixed float32 inputs (some feature rows placed on,
or within 1e-5 in cosine of, their target weight vector and its opposite, where the clamp of
docs/methods.md §0.2 acts); this script rebuilds each head's formula from docs/methods.md in PyTorch float64
with autograd, from the same float32 inputs, and compares.

Tolerance: max |c − t| <= 1e-5 · max |t| per tensor. The reference is exact float64 arithmetic on the
C side's float32 inputs; the heads compute in double internally and round each output once to
float32 (relative error 6e-8), and the gradients start from the float32 dlogits of the float32
logits, so a correct head sits near 1e-7; 1e-5 leaves room for the condition number of the angular
margins near the clamp (dφ/dc up to ~1/sqrt(2δ) ≈ 2e3) without hiding a wrong formula, which shows
up at 1e-2 or more."""
import functools
import math

import torch
import torch.nn.functional as F

import parity

compare = functools.partial(parity.close, tol=1e-5)
DELTA = 1e-7  # TL_MARGIN_DELTA: the acos clamp for float32 features (docs/methods.md §0.2)


def parse(desc):
    spec, *rest = desc.split()
    name, _, kv = spec.partition(":")
    keys = dict(p.split("=", 1) for p in kv.split(",") if p)
    extra = dict(p.split("=", 1) for p in rest)
    return name, keys, extra


def clamp_cos(c):
    return c.clamp(-1 + DELTA, 1 - DELTA)


def target_mask(y, C):
    return F.one_hot(y, C).bool()


def cosines(x, w):
    return F.normalize(x, dim=1) @ F.normalize(w, dim=1).t()


def margin_logits(name, k, x, w, y):
    """Training logits of the additive-margin heads (docs/methods.md §4.2-4.4)."""
    s = float(k.get("s", 30))
    c = cosines(x, w)
    if name == "cosine":
        return s * c
    cy = c.gather(1, y[:, None])
    if name == "cosface":
        phi = cy - float(k.get("m", 0.35))
    elif name == "arcface":
        m = float(k.get("m", 0.5))
        rule = k.get("rule", "hard")
        cc = clamp_cos(cy)
        sn = torch.sqrt(1 - cc * cc)
        arc = cc * math.cos(m) - sn * math.sin(m)
        if rule == "hard":
            phi = torch.where(cc > math.cos(math.pi - m), arc, cc - math.sin(math.pi - m) * m)
        elif rule == "easy":
            phi = torch.where(cc > 0, arc, cc)
        else:
            phi = arc
    else:  # combined
        m1, m2, m3 = float(k.get("m1", 1)), float(k.get("m2", 0.3)), float(k.get("m3", 0.2))
        cc = clamp_cos(cy)
        a = m1 * torch.acos(cc) + m2
        phi = torch.cos(a) - m3
        if k.get("fallback", "0") in ("1", "true", "yes", "on"):
            phi = torch.where(a > math.pi, cc - (math.cos((math.pi - m2) / m1) + 1 + m3), phi)
    if k.get("grad") == "straight":
        phi = cy + (phi - cy).detach()
    return s * torch.where(target_mask(y, c.shape[1]), phi.expand_as(c), c)


def psi(c, m):
    """SphereFace's ψ without acos (docs/methods.md §4.1): (−1)^k T_m(c) − 2k, k = #{j: c < cos(jπ/m)}."""
    t0, t1 = torch.ones_like(c), c
    for _ in range(m - 1):
        t0, t1 = t1, 2 * c * t1 - t0
    k = sum((c < math.cos(j * math.pi / m)).double() for j in range(1, m)) if m > 1 else torch.zeros_like(c)
    return torch.where(k % 2 == 1, -1.0, 1.0) * t1 - 2 * k


def sphere_logits(name, k, x, w, y, forwards, train):
    """L-Softmax (raw weights) and SphereFace (normalised weights) with λ annealing (docs/methods.md §4.1)."""
    rho = x.norm(dim=1, keepdim=True) * (w.norm(dim=1)[None, :] if name == "lsoftmax" else 1)
    c = cosines(x, w)
    if not train:
        return rho * c
    m = int(k.get("m", 4))
    lam = max(float(k.get("lambda_min", 5)),
              float(k.get("base", 1000)) * (1 + float(k.get("gamma", 0.12)) * forwards) ** -float(k.get("power", 1)))
    h = torch.where(target_mask(y, c.shape[1]), (lam * c + psi(c, m)) / (1 + lam), c)
    return rho * h


def affinity(k, x, V, y, train):
    """Similarities, and with train the hinge + diversity objective (docs/methods.md §6)."""
    sigma, lam = float(k.get("sigma", 10)), float(k.get("lambda", 0.75))
    d = torch.exp(-((x[:, None, None, :] - V[None]) ** 2).sum(-1) / sigma).amax(dim=2)
    if not train:
        return d, None
    dy = d.gather(1, y[:, None])
    hinge = F.relu(lam + d - dy).masked_fill(target_mask(y, d.shape[1]), 0).sum(1).mean()
    U = V.reshape(-1, V.shape[-1])
    K = U.shape[0]
    iu = torch.triu_indices(K, K, 1)
    delta = ((U[:, None, :] - U[None, :, :]) ** 2).sum(-1)[iu[0], iu[1]]
    R = ((delta - delta.mean()) ** 2).mean() if K > 1 else torch.zeros(())
    return d, hinge + R


def uniformface(k, x, w, y, buf):
    """CosFace logits and the uniform loss over the batch-updated centres (docs/methods.md §7.1); also the
    buffer after its first-sight initialisation and after the centre-loss move."""
    s, m, lam, alpha = (float(k.get(n, d)) for n, d in (("s", 30), ("m", 0.35), ("lambda", 1), ("alpha", 0.5)))
    c = cosines(x, w)
    logits = s * torch.where(target_mask(y, c.shape[1]), c - m, c)
    xh = F.normalize(x, dim=1)
    buf = buf.clone()
    for i in range(len(y)):
        if not buf[y[i]].abs().sum() > 0:
            buf[y[i]] = xh[i].detach()
    C = buf.shape[0]
    n = torch.bincount(y, minlength=C).double()
    ct = (buf + torch.zeros_like(buf).index_add(0, y, xh)) / (1 + n)[:, None]
    ch = F.normalize(ct, dim=1)
    seen = buf.abs().sum(1) > 0
    Lu = torch.zeros((), dtype=torch.float64)
    for a in range(C):
        for b in range(C):
            if a != b and seen[a] and seen[b]:
                Lu = Lu + 1 / ((ch[a] - ch[b]).norm() + 1)
    Lu = lam / (C * (C - 1)) * Lu
    xd = xh.detach()
    moved = buf - alpha * torch.zeros_like(buf).index_add(0, y, buf[y] - xd) / (1 + n)[:, None]
    return logits, Lu, moved


def uncertainty(k, x, w, y, margins, forwards, train):
    """tailor's formulation of the uncertainty head (docs/methods.md §5.2): real-m psi with the class
    margins, minus alpha times the misclassification probability, lambda-mixed."""
    raw = k.get("weights", "normalized") == "raw"
    rho = x.norm(dim=1, keepdim=True) * (w.norm(dim=1)[None, :] if raw else 1)
    c = cosines(x, w)
    plain = rho * c
    if not train:
        return plain
    lam = max(float(k.get("lambda_min", 5)),
              float(k.get("base", 1000)) * (1 + float(k.get("gamma", 0.12)) * forwards) ** -float(k.get("power", 1)))
    p, alpha = float(k.get("p", 0.5)), float(k.get("alpha", 1))
    mask = target_mask(y, c.shape[1])
    my = margins[y][:, None]
    cy = c.gather(1, y[:, None])
    th = torch.acos(clamp_cos(cy))
    kk = torch.minimum(torch.floor(my * th / math.pi), torch.ceil(my) - 1)
    psi = torch.where(kk % 2 == 1, -1.0, 1.0) * torch.cos(my * th) - 2 * kk
    Wv = w if raw else F.normalize(w, dim=1)

    def prob(j):
        a = Wv[j] - Wv[y]
        mu = (a * x).sum(1)
        sig = torch.sqrt((a * a * x * x * p / (1 - p)).sum(1) + 1e-12)
        return 0.5 * torch.erfc(-mu / sig / math.sqrt(2))

    if k.get("competitor", "max") == "union":
        P = sum(torch.where(y != j, prob(torch.full_like(y, j)), torch.zeros((), dtype=x.dtype))
                for j in range(c.shape[1])).clamp(max=1)
    else:
        P = prob(plain.detach().masked_fill(mask, -math.inf).argmax(1))
    if k.get("penalty_grad") == "detach":
        P = P.detach()
    ry = rho.expand_as(c).gather(1, y[:, None])
    fy = (lam * ry * cy + ry * (psi - alpha * P[:, None])) / (1 + lam)
    return torch.where(mask, fy.expand_as(c), plain)


def check_case(cs, desc, t):
    name, k, extra = parse(desc)
    x = torch.tensor(t["feat"], dtype=torch.float64, requires_grad=True)
    y = torch.tensor(t["y"], dtype=torch.long)
    params = {n[len("param."):]: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for n, v in t.items() if n.startswith("param.")}
    if name == "affinity":
        V = params["head.centres"]
        logits, loss = affinity(k, x, V, y, True)
        eval_logits, _ = affinity(k, x, V, y, False)
    elif name == "uniformface":
        w = params["head.weight"]
        buf = torch.tensor(t["state.head.centres"], dtype=torch.float64)
        logits, Lu, moved = uniformface(k, x, w, y, buf)
        loss = F.cross_entropy(logits, y) + Lu
        eval_logits = float(k.get("s", 30)) * cosines(x, w)
        compare(f"{cs}.after.head.centres", t["after.head.centres"], moved)
    elif name == "adaptiveface":
        w, delta = params["head.weight"], params["head.margin_delta"]
        s, lam = float(k.get("s", 30)), float(k.get("lambda", 70))
        c = cosines(x, w)
        margins = 0.35 + delta
        logits = s * torch.where(target_mask(y, c.shape[1]), c - margins[y][:, None], c)
        loss = F.cross_entropy(logits, y) - lam * margins.mean()
        eval_logits = s * c
        compare(f"{cs}.after.head.margin_delta", t["after.head.margin_delta"], delta.detach().clamp(-0.35, 0.65))
    elif name == "uncertainty":
        w = params["head.weight"]
        margins = torch.tensor(t["state.head.margins"], dtype=torch.float64)
        logits = uncertainty(k, x, w, y, margins, int(extra["forwards"]), True)
        loss = F.cross_entropy(logits, y)
        eval_logits = uncertainty(k, x, w, y, margins, 0, False)
    elif name in ("lsoftmax", "sphereface"):
        w = params["head.weight"]
        logits = sphere_logits(name, k, x, w, y, int(extra["forwards"]), True)
        loss = F.cross_entropy(logits, y)
        eval_logits = sphere_logits(name, k, x, w, y, 0, False)
    else:
        w = params["head.weight"]
        logits = margin_logits(name, k, x, w, y)
        loss = F.cross_entropy(logits, y)
        eval_logits = float(k.get("s", 30)) * cosines(x, w)
    compare(f"{cs}.logits", t["logits"], logits)
    compare(f"{cs}.eval_logits", t["eval_logits"], eval_logits)
    compare(f"{cs}.loss", t["loss"], loss)
    names = list(params)
    g = torch.autograd.grad(loss, [x] + [params[n] for n in names])
    compare(f"{cs}.dfeat", t["dfeat"], g[0])
    for n, gi in zip(names, g[1:]):
        compare(f"{cs}.grad.{n}", t["grad." + n], gi)


if __name__ == "__main__":
    torch.set_num_threads(1)
    for cs, desc, t in parity.cases(*parity.load("heads_dump")):
        check_case(cs, desc, t)
    parity.finish()
