"""PyTorch reference for the margin-head benchmark (bench/results_margin.sh, docs/results.md, issue 5):
the re-balancing recipe of bench/torch_ref.py (same data view, augmentation, SGD and cosine schedule)
with plain CE on the logits of a margin head of python/tailor_torch.py, which sees the batch labels in
training. The heads whose training in tailor goes beyond forward and backward get the same extras here,
written from docs/methods.md, not from tailor's code:
  uniformface   + the uniform loss over batch centres (§7.1), the centre buffer moved after each step;
  adaptiveface  + λ_m·(−mean margin) (§7.2), the margins projected onto [0, 1] after each step;
  uncertainty   plain head (margins 1, no penalty) before epoch E_w, Monte-Carlo-dropout class margins
                refreshed at E_w and every R epochs after (§5.2 a, f).

Usage: python3 bench/torch_margin.py OUT.jsonl HEAD SEED [EPOCHS]  -> appends one JSON line whose method
is HEAD's name (the part before the colon). HEAD_FLOAT64=1 runs the head (its parameter and arithmetic)
in float64, the backbone staying float32, as tailor computes its heads in double (src/heads/normed.c);
for the heads without the training extras above.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

import torch_ref as ref

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import tailor_torch  # noqa: E402


def half_up(v):
    """C's round() for the non-negative epoch counts."""
    return int(math.floor(v + 0.5))


class UniformFace:
    """The uniform loss L_u = λ/(C(C−1)) Σ_j Σ_{k≠j} 1/(‖ĉ_j − ĉ_k‖ + 1) over the normalised centres
    ĉ_j of c̃_j = (c_j + Σ_{i: y_i = j} x̂_i)/(1 + n_j); a class's buffer c_j starts at the first
    normalised feature of it seen, and unseen classes are left out of the pairs."""

    def __init__(self, head, lam=1.0, alpha=0.5):
        self.head, self.lam, self.alpha = head, lam, alpha

    def loss(self, feat, labels):
        c = self.head.centres
        xh = F.normalize(feat, dim=1)
        with torch.no_grad():
            for i in range(len(labels)) if not c.any(dim=1).all() else ():
                if not c[labels[i]].any():
                    c[labels[i]] = xh[i]
        n = torch.bincount(labels, minlength=c.shape[0]).to(feat.dtype)
        ct = (c.index_add(0, labels, xh)) / (1 + n)[:, None]
        ch = F.normalize(ct, dim=1)
        seen = c.any(dim=1)
        C = c.shape[0]
        a, b = torch.triu_indices(C, C, 1)
        keep = seen[a] & seen[b]
        r = (ch[a[keep]] - ch[b[keep]]).norm(dim=1)
        self.batch = (xh.detach(), labels, n)
        return 2 * self.lam / (C * (C - 1)) * (1 / (r + 1)).sum()

    def step_end(self):
        xh, labels, n = self.batch
        c = self.head.centres
        with torch.no_grad():
            diff = torch.zeros_like(c).index_add(0, labels, c[labels] - xh)
            c -= torch.where(n[:, None] > 0, self.alpha * diff / (1 + n)[:, None], torch.zeros_like(c))


class AdaptiveFace:
    """λ_m·L_m = −(λ_m/C) Σ_c m_c with m_c = 0.35 + delta_c, projected onto [0, 1] after every step."""

    def __init__(self, head, lam=70.0):
        self.head, self.lam = head, lam

    def loss(self, feat, labels):
        return -self.lam * (0.35 + self.head.margin_delta).mean()

    def step_end(self):
        with torch.no_grad():
            self.head.margin_delta.clamp_(-0.35, 0.65)


class Uncertainty:
    """The schedule of §5.2 f and the refresh of §5.2 a: for every training image (no augmentation,
    BatchNorm in evaluation mode) T dropout draws of the plain logits ŵ_j·x̃, v_i = mean q² − (mean q)²
    of the label's probability, u_c = mean v over class c, m_c = 1 + (m − 1) u_c / max u."""

    def __init__(self, model, x, y, mean, std, epochs, keys):
        self.model, self.x, self.y, self.mean, self.std = model, x, y, mean, std
        self.m, self.T = float(keys.get("m", 3)), int(keys.get("T", 10))
        self.p, self.alpha = float(keys.get("p", 0.5)), float(keys.get("alpha", 1))
        self.ew = max(1, half_up(float(keys.get("warmup", 0.1)) * epochs))
        self.every = max(1, half_up(float(keys.get("every", 0.1)) * epochs))

    def epoch_begin(self, e):
        head = self.model.head
        head.k["alpha"] = str(self.alpha if e >= self.ew else 0.0)
        if e >= self.ew and (e - self.ew) % self.every == 0:
            self.refresh()

    def refresh(self):
        model, head, C = self.model, self.model.head, self.model.head.weight.shape[0]
        model.eval()
        u, cnt = torch.zeros(C, dtype=torch.float64), torch.zeros(C, dtype=torch.float64)
        with torch.no_grad():
            w = F.normalize(head.weight, dim=1) if head.normalized else head.weight
            for i in range(0, len(self.y), 1000):
                xb = (torch.from_numpy(self.x[i:i + 1000])[:, None] - self.mean) / self.std
                yb = torch.from_numpy(self.y[i:i + 1000])
                feat = model.backbone(xb)
                q = torch.stack([F.softmax(F.dropout(feat, self.p, True) @ w.t(), 1).gather(1, yb[:, None])[:, 0]
                                 for _ in range(self.T)]).double()
                v = (q * q).mean(0) - q.mean(0) ** 2
                u.index_add_(0, yb, v)
                cnt.index_add_(0, yb, torch.ones_like(v))
        u = torch.where(cnt > 0, u / cnt.clamp(min=1), torch.zeros_like(u))
        head.margins.copy_(1 + (self.m - 1) * u / u.max() if u.max() > 0 else torch.ones_like(u))
        model.train()


class Float64Head(torch.nn.Module):
    """HEAD_FLOAT64: the wrapped head in float64 on float32 features, float32 logits out."""

    def __init__(self, head):
        super().__init__()
        self.inner = head.double()

    def forward(self, x, labels=None):
        return self.inner(x.double(), labels).float()


def main():
    out, spec, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 12
    name, _, rest = spec.partition(":")
    keys = dict(kv.split("=", 1) for kv in rest.split(",")) if rest else {}
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    x, y, xt, yt = ref.load_view()
    counts, mean, std = ref.stats(x, y)
    torch.manual_seed(seed)
    model = tailor_torch.build("cnn", (1, 28, 28), ref.C, head=spec)
    if os.environ.get("HEAD_FLOAT64") == "1":
        if name in ("uniformface", "adaptiveface", "uncertainty"):
            sys.exit(f"torch_margin.py: HEAD_FLOAT64 does not support {name} (its training extras read the head)")
        model.head = Float64Head(model.head)
    extra = None
    if name == "uniformface":
        extra = UniformFace(model.head, float(keys.get("lambda", 1)), float(keys.get("alpha", 0.5)))
    elif name == "adaptiveface":
        extra = AdaptiveFace(model.head, float(keys.get("lambda", 70)))
    unc = Uncertainty(model, x, y, mean, std, epochs, keys) if name == "uncertainty" else None

    def loss(xb, yb, e):
        feat = model.backbone(xb)
        value = F.cross_entropy(model.head(feat, yb), yb)
        return value + extra.loss(feat, yb) if extra else value

    seconds = ref.train(model, x, y, mean, std, seed, epochs, loss,
                        epoch_begin=unc.epoch_begin if unc else None, step_end=extra.step_end if extra else None)
    ref.append(out, [ref.row(name, seed, epochs, seconds, ref.logits(model, xt, mean, std), yt, counts)])


if __name__ == "__main__":
    main()
