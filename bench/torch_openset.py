"""The PyTorch run of bench/results_openset.sh's recipe: Fashion-MNIST, classes 7, 8, 9 held out as
unknown, exp:100 long-tailed cut of the 7 known classes after a 100-per-class validation hold-out, the
cnn of python/tailor_torch.py with a head (rpl by default), SGD lr 0.1 momentum 0.9 wd 5e-4, cosine
per epoch, batch 128, RandomCrop(28, padding=2) + flip. The data view (file order: first n_i kept, last
100 held out), normalisation, threshold and metrics follow tailor's definitions (docs/methods.md §1, §14).
Usage: python3 torch_openset.py SEED EPOCHS OUT.json [HEAD]   (PYTHONPATH=python)"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import tailor_torch
from torch_ref import fashion_mnist  # bench/torch_ref.py

seed, epochs, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
head = sys.argv[4] if len(sys.argv) > 4 else "rpl"
OPEN, VAL, IF, B = (7, 8, 9), 100, 100.0, 128
torch.set_num_threads(2)
torch.manual_seed(seed)
gen = torch.Generator().manual_seed(seed)
xtr, ytr, xte, yte = fashion_mnist()
xtr, xte = xtr.reshape(-1, 1, 28, 28), xte.reshape(-1, 1, 28, 28)
known = [c for c in range(10) if c not in OPEN]
relabel = {c: k for k, c in enumerate(known)}
K = len(known)

# Validation = the last VAL images of each known class; the exp:IF cut keeps the first n_k of the rest.
sel_tr, sel_val = [], []
idx_of = {c: np.nonzero(ytr == c)[0] for c in known}
n_max = max(len(v) - VAL for v in idx_of.values())
for k, c in enumerate(known):
    rows = idx_of[c]
    n_k = min(int(n_max * math.pow(1.0 / IF, k / (K - 1.0))), len(rows) - VAL)
    sel_tr.append(rows[:n_k])
    sel_val.append(rows[len(rows) - VAL:])
sel_tr, sel_val = np.sort(np.concatenate(sel_tr)), np.sort(np.concatenate(sel_val))
to_k = np.vectorize(lambda c: relabel[c])
Xtr, Ytr = torch.from_numpy(xtr[sel_tr]), torch.from_numpy(to_k(ytr[sel_tr]))
Xval = torch.from_numpy(xtr[sel_val])
kt = np.isin(yte, known)
Xk, Yk, Xu = torch.from_numpy(xte[kt]), torch.from_numpy(to_k(yte[kt])), torch.from_numpy(xte[~kt])
mean = Xtr.double().mean().float()
std = Xtr.double().std(unbiased=False).float()


def augment(x):
    """RandomCrop(28, padding=2) with zero padding in raw pixel space, then a horizontal flip with p = 0.5."""
    padded = F.pad(x, (2, 2, 2, 2))
    out = torch.empty_like(x)
    ij = torch.randint(0, 5, (x.shape[0], 2), generator=gen)
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    for n in range(x.shape[0]):
        i, j = int(ij[n, 0]), int(ij[n, 1])
        v = padded[n, :, i:i + 28, j:j + 28]
        out[n] = v.flip(-1) if flip[n] else v
    return out


model = tailor_torch.build("cnn", (1, 28, 28), K, 128, head=head)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
t0 = time.time()
for epoch in range(epochs):
    model.train()
    perm = torch.randperm(len(Ytr), generator=gen)
    for s in range(len(Ytr) // B):
        b = perm[s * B:(s + 1) * B]
        x, y = (augment(Xtr[b]) - mean) / std, Ytr[b]
        feat = model.backbone(x)
        logits = model.head(feat)
        loss = F.cross_entropy(logits, y)
        if hasattr(model.head, "regularizer"):
            loss = loss + model.head.regularizer(feat, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    sched.step()
train_seconds = time.time() - t0


@torch.no_grad()
def scores(X):
    model.eval()
    logits = torch.cat([model((X[i:i + 512] - mean) / std) for i in range(0, len(X), 512)])
    s = model.head.unknown_score(logits) if hasattr(model.head, "unknown_score") else F.softmax(logits, 1).max(1)[0]
    return s.numpy().astype(np.float64), logits.argmax(1).numpy()


def auroc(s, pos):
    order = np.argsort(s, kind="stable")
    ranks = np.empty(len(s))
    sv = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    na, nb = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - na * (na + 1) / 2) / (na * nb)


def aupr(s, pos):
    """Average precision with each distinct score one threshold (sklearn average_precision_score)."""
    order = np.argsort(-s, kind="stable")
    sv, pv = s[order], pos[order]
    tp, seen = np.cumsum(pv), np.arange(1, len(s) + 1)
    last = np.r_[np.nonzero(np.diff(sv))[0], len(s) - 1]      # the end of each group of tied scores
    rec, prec = tp[last] / pos.sum(), tp[last] / seen[last]
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))


sk, pk = scores(Xk)
su, _ = scores(Xu)
sv, _ = scores(Xval)
yk = Yk.numpy()
bal = np.mean([(pk[yk == k] == k).mean() for k in range(K)])
s = np.concatenate([sk, su])
pos = np.concatenate([np.ones(len(sk), bool), np.zeros(len(su), bool)])
theta = np.sort(sv)[::-1][math.ceil(0.95 * len(sv) - 1e-9) - 1]
res = {"seed": seed, "epochs": epochs, "head": head, "balanced_accuracy": float(bal),
       "accuracy": float((pk == yk).mean()), "auroc": float(auroc(s, pos)), "aupr_in": float(aupr(s, pos)),
       "aupr_out": float(aupr(-s, ~pos)), "threshold": float(theta), "train_seconds": train_seconds}
json.dump(res, open(out, "w"))
print(json.dumps(res))
