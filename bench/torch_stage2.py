"""PyTorch reference of stage 2 (issue 6, docs/results.md) on a tailor stage-1 run: the same frozen
model (its model.safetensors loaded with python/tailor_torch.py), the same data view, the recipes of
docs/methods.md §8 written independently of the C code.

Data: Fashion-MNIST IDX files read with numpy; the last VAL images of each class (file order) are the
validation split, then class i keeps its first trunc(n_max·(1/IF)^(i/(C-1))) images (n_max = largest
remaining class). Images normalised with the mean/std stored in the model file. Features: the
backbone in eval mode, no augmentation, computed once (as tailor retrain does).
  crt: new nn.Linear(D, C) (torch.manual_seed(seed)), class-aware sampler (4 per class visit, cyclic
       iterators reshuffled on wrap), CE, SGD lr 0.2 momentum 0.9 wd 5e-4, CosineAnnealingLR per
       epoch over 10 epochs, batch 512, floor(N/512) steps per epoch.
  tau: w_c/|w_c|^tau, bias dropped, tau in 0..2 step 0.1 by balanced validation accuracy (smallest
       on ties).
  lws: scales f_c (init 1) on the frozen logits, same recipe as crt for 5 epochs.
  ncm: cl2n features, squared-L2 nearest mean.
Usage: python3 bench/torch_stage2.py OUT.jsonl RUN_DIR SEED [IF] [VAL]  -> one JSON line per method."""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_ref as ref  # bench/torch_ref.py: the data view and the metrics
import st  # python/, on sys.path once torch_ref is imported
import tailor_torch


def features(model, mean, std, x):
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            xb = (torch.from_numpy(x[i:i + 1000]).reshape(-1, 1, 28, 28) - mean) / std
            out.append(model.backbone(xb))
    return torch.cat(out)


def class_aware(labels, C, n, rng, per=4):
    lists = [list(np.flatnonzero(labels == c)) for c in range(C)]
    cls, cpos, pos, out = list(range(C)), C, [len(l) for l in lists], []
    while len(out) < n:
        if cpos == C:
            rng.shuffle(cls)
            cpos = 0
        c = cls[cpos]
        cpos += 1
        for _ in range(per):
            if len(out) == n:
                break
            if pos[c] == len(lists[c]):
                rng.shuffle(lists[c])
                pos[c] = 0
            out.append(lists[c][pos[c]])
            pos[c] += 1
    return np.array(out)


def train_head(module, params, ftr, ytr, C, epochs, seed, batch=512):
    opt = torch.optim.SGD(params, lr=0.2, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    rng = np.random.default_rng(seed)
    B = min(batch, len(ytr))
    for e in range(epochs):
        order = class_aware(ytr.numpy(), C, len(ytr), rng)
        for s in range(len(ytr) // B):
            i = torch.from_numpy(order[s * B:(s + 1) * B])
            opt.zero_grad()
            F.cross_entropy(module(ftr[i]), ytr[i]).backward()
            opt.step()
        sched.step()


def main():
    out, run, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    imb = float(sys.argv[4]) if len(sys.argv) > 4 else 100.0
    val = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    torch.set_num_threads(2)
    model = tailor_torch.load(os.path.join(run, "model.safetensors"))
    _, meta = st.load(os.path.join(run, "model.safetensors"))
    mean, std = float(meta["norm_mean"]), float(meta["norm_std"])
    (xtr, ytr), (xva, yva), (xte, yte) = ref.split(imb, val)
    ftr, fva, fte = (features(model, mean, std, a) for a in (xtr, xva, xte))
    C = 10
    counts = np.bincount(ytr, minlength=C)
    ytr = torch.from_numpy(ytr)

    def metrics(z, y):
        return ref.metrics(z.argmax(1).numpy(), y, counts)

    W, b = model.head.weight.detach(), model.head.bias.detach()
    rows = []
    # cRT
    torch.manual_seed(seed)
    lin = nn.Linear(W.shape[1], C)
    train_head(lin, lin.parameters(), ftr, ytr, C, 10, seed)
    with torch.no_grad():
        rows.append(("crt", metrics(lin(fte), yte)))
    # tau-norm
    best, best_tau = -1, 0.0
    for k in range(21):
        Wt = W / W.norm(dim=1, keepdim=True) ** (k / 10)
        bal = metrics(fva @ Wt.t(), yva)["balanced_accuracy"]
        if bal > best:
            best, best_tau = bal, k / 10
    m = metrics(fte @ (W / W.norm(dim=1, keepdim=True) ** best_tau).t(), yte)
    m["tau"] = best_tau
    rows.append(("tau", m))
    # LWS
    f = nn.Parameter(torch.ones(C))
    train_head(lambda x: f * (x @ W.t() + b), [f], ftr, ytr, C, 5, seed)
    with torch.no_grad():
        rows.append(("lws", metrics(f * (fte @ W.t() + b), yte)))
    # NCM (cl2n, l2)
    fbar = ftr.mean(0)
    g = F.normalize(ftr - fbar, dim=1)
    cent = torch.stack([g[ytr == c].mean(0) for c in range(C)])
    gt = F.normalize(fte - fbar, dim=1)
    rows.append(("ncm", metrics(-torch.cdist(gt, cent) ** 2, yte)))
    with open(out, "a") as fo:
        for name, m in rows:
            fo.write(json.dumps({"run": os.path.basename(run.rstrip("/")), "method": name, "seed": seed, **m}) + "\n")


main()
