"""PyTorch reference for the re-balancing benchmark (bench/results_rebal.sh, docs/results.md): the
same recipe as tailor on the same data view, written independently from the formulas in docs/methods.md.

Data: Fashion-MNIST IDX files read with numpy; the last VAL images of each class (file order) are
held out, then class i keeps its first trunc(n_max·(1/IF)^(i/(C-1))) images in file order (n_max =
largest remaining class). Normalisation: mean/std (population) of the training view's raw pixels.
Augmentation: 2-pixel zero padding of the raw image, random 28x28 crop, horizontal flip p=0.5.
Model: python/tailor_torch.py build("cnn"), PyTorch's default init (torch.manual_seed(seed)).
Optimiser: SGD lr 0.1, momentum 0.9, weight decay 5e-4 on every parameter, cosine per epoch,
batch 128, last partial batch dropped. Evaluation: argmax of the logits on the 10000 test images
(post-hoc: argmax of z - log(π^τ + 1e-12)).

Usage: python3 bench/torch_ref.py OUT.jsonl METHOD SEED [EPOCHS]  -> appends one JSON line.
Env: TL_IF (imbalance factor of the exp view, 100), TL_VAL (validation images held out per class, 100).
The other PyTorch references import its data (fashion_mnist, split, load_view, stats), recipe (augment,
train, logits) and results (metrics, row, append).
"""
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import tailor_torch  # noqa: E402

DIR = "/usr/share/datasets/fashion-mnist"
IF, VAL = float(os.environ.get("TL_IF", 100)), int(os.environ.get("TL_VAL", 100))
C, BATCH, LR, MOM, WD = 10, 128, 0.1, 0.9, 5e-4

# method -> (loss, sampler, head); DRW epoch and betas as in bench/results_rebal.sh.
METHODS = {
    "ce": ("ce", "instance", "linear"),
    "ce-inverse": ("ce-inverse", "instance", "linear"),
    "focal": ("focal", "instance", "linear"),
    "cb-focal": ("cb-focal", "instance", "linear"),
    "ldam-drw": ("ldam-drw", "instance", "cosine:s=30"),
    "balanced-softmax": ("balanced-softmax", "instance", "linear"),
    "class-sampling": ("ce", "class", "linear"),
    "sqrt-sampling": ("ce", "sqrt", "linear"),
    "progressive": ("ce", "progressive", "linear"),
    # the causal head of the Decoupling study (bench/study.sh): TDE logits in evaluation mode
    "causal": ("ce", "instance", "causal:heads=2,tau=16,gamma=0.03125,alpha=1"),
}


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_mnist():
    """The training and test sets in file order: x (N, 28, 28) float32 raw pixels, y int64, xt, yt."""
    def read(name, dtype):
        return idx(f"{DIR}/{name}-ubyte.gz").astype(dtype)
    return (read("train-images-idx3", np.float32), read("train-labels-idx1", np.int64),
            read("t10k-images-idx3", np.float32), read("t10k-labels-idx1", np.int64))


def split(imb=IF, val=VAL):
    """(x, y) of the training view, of the validation split and of the test set: the last VAL images of
    each class (file order) are the validation split, then class i keeps its first
    trunc(n_max·(1/IMB)^(i/(C-1))) images (n_max = largest remaining class)."""
    x, y, xt, yt = fashion_mnist()
    pools = [np.flatnonzero(y == c) for c in range(C)]
    vrows = np.sort(np.concatenate([p[-val:] for p in pools])) if val else np.array([], int)
    pools = [p[:-val] if val else p for p in pools]
    n_max = max(len(p) for p in pools)
    rows = np.sort(np.concatenate([p[:int(n_max * math.pow(1.0 / imb, i / (C - 1.0)))] for i, p in enumerate(pools)]))
    return (x[rows], y[rows]), (x[vrows], y[vrows]), (xt, yt)


def load_view():
    """The training view and the test set of TL_IF and TL_VAL: x, y, xt, yt."""
    (x, y), _, (xt, yt) = split()
    return x, y, xt, yt


def stats(x, y):
    """The class counts of the training view and the mean and std (population) of its raw pixels."""
    return np.bincount(y, minlength=C).astype(np.float64), float(x.mean(dtype=np.float64)), float(x.std(dtype=np.float64))


def epoch_order(method_sampler, labels, counts, epoch, epochs, rng):
    n = len(labels)
    if method_sampler == "instance":
        return rng.permutation(n)
    if method_sampler == "class":
        mass = np.ones(C)
    elif method_sampler == "sqrt":
        mass = np.sqrt(counts)
    else:  # progressive, λ = e/(T-1)
        lam = epoch / (epochs - 1) if epochs > 1 else 1.0
        mass = (1 - lam) * counts + lam * n / C
    p = mass / counts
    p = p[labels] / p[labels].sum()
    return rng.choice(n, size=n, replace=True, p=p)


def augment(xb, rng):
    B = xb.shape[0]
    xp = F.pad(xb, (2, 2, 2, 2))
    dy, dx = rng.integers(0, 5, B), rng.integers(0, 5, B)
    r = torch.from_numpy(dy[:, None] + np.arange(28))
    c = torch.from_numpy(dx[:, None] + np.arange(28))
    out = xp[torch.arange(B)[:, None, None], r[:, :, None], c[:, None, :]]
    flip = torch.from_numpy(rng.random(B) < 0.5)
    out = torch.where(flip[:, None, None], out.flip(-1), out)
    return out[:, None]


def cb_weights(counts, beta):
    r = (1 - beta) / -np.expm1(counts * np.log(beta))
    return r * C / r.sum()


def loss_fn(name, z, y, counts, epoch, drw):
    if name == "ce":
        return F.cross_entropy(z, y)
    if name == "ce-inverse":
        w = 1.0 / counts
        return F.cross_entropy(z, y, weight=torch.tensor(w * C / w.sum(), dtype=z.dtype))
    if name == "focal":  # softmax focal, γ = 1, mean (docs/methods.md §3.3)
        logp = F.log_softmax(z, 1).gather(1, y[:, None])[:, 0]
        return (-(-torch.expm1(logp)) * logp).mean()
    if name == "cb-focal":  # sigmoid focal, γ = 1, CB weights β = 0.9999, sum / N (docs/methods.md §3.4)
        w = torch.tensor(cb_weights(counts, 0.9999), dtype=z.dtype)[y]
        t = F.one_hot(y, C).to(z.dtype)
        bce = F.softplus(z) - t * z
        mod = torch.exp(-t * z - F.softplus(-z))
        return (w[:, None] * mod * bce).sum() / z.shape[0]
    if name == "ldam-drw":  # margins on s·cos, CB weights from the DRW epoch (docs/methods.md §3.6)
        d = counts ** -0.25
        delta = torch.tensor(0.5 * d / d.max(), dtype=z.dtype)
        u = z - 30.0 * delta[y][:, None] * F.one_hot(y, C).to(z.dtype)
        w = torch.tensor(cb_weights(counts, 0.9999), dtype=z.dtype) if epoch >= drw else None
        return F.cross_entropy(u, y, weight=w)
    if name == "balanced-softmax":
        return F.cross_entropy(z + torch.tensor(np.log(counts), dtype=z.dtype), y)
    raise ValueError(name)


def metrics(pred, yt, counts):
    M = np.zeros((C, C), np.int64)
    np.add.at(M, (yt, pred), 1)
    rec = np.diag(M) / M.sum(1)
    col = M.sum(0)
    prec = np.where(col > 0, np.diag(M) / np.maximum(col, 1), 0)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-300), 0)
    order = sorted(range(C), key=lambda c: (-counts[c], c))
    k = C // 3
    group = lambda cls: float(np.mean(rec[cls])) if len(cls) else None  # noqa: E731
    return {"accuracy": float(np.trace(M) / M.sum()), "balanced_accuracy": float(rec.mean()),
            "macro_f1": float(f1.mean()), "head": group(order[:k]), "mid": group(order[k:C - k]),
            "tail": group(order[C - k:]), "many": group([c for c in range(C) if counts[c] > 100]),
            "medium": group([c for c in range(C) if 20 <= counts[c] <= 100]),
            "few": group([c for c in range(C) if counts[c] < 20])}


def train(model, x, y, mean, std, seed, epochs, loss, sampler="instance", epoch_begin=None, step_end=None):
    """The recipe's training of MODEL on the view (x, y): SGD (LR, MOM, WD on every parameter) with the
    cosine lr set per epoch; each epoch the order of epoch_order(SAMPLER) drawn from the generator of
    (seed, epoch), batches of BATCH (the last partial one dropped), augmented with that generator, then
    normalised. LOSS(xb, yb, epoch) is a batch's loss; EPOCH_BEGIN(epoch), if given, runs before an
    epoch's first step and STEP_END() after every optimiser step (tailor's head hooks). Returns the
    training seconds."""
    counts = np.bincount(y, minlength=C).astype(np.float64)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOM, weight_decay=WD)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    t0 = time.time()
    for e in range(epochs):
        for g in opt.param_groups:
            g["lr"] = LR * (1 + math.cos(math.pi * e / epochs)) / 2
        if epoch_begin:
            epoch_begin(e)
        rng = np.random.default_rng([seed, e])
        order = epoch_order(sampler, y, counts, e, epochs, rng)
        model.train()
        for s in range(len(order) // BATCH):
            b = torch.from_numpy(order[s * BATCH:(s + 1) * BATCH])
            xb = (augment(X[b], rng) - mean) / std
            batch_loss = loss(xb, Y[b], e)
            opt.zero_grad()
            batch_loss.backward()
            opt.step()
            if step_end:
                step_end()
    return time.time() - t0


def logits(model, xt, mean, std):
    """MODEL's logits on the test images (evaluation mode, no gradient), 1000 at a time."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model((torch.from_numpy(xt[i:i + 1000])[:, None] - mean) / std) for i in range(0, len(xt), 1000)])


def row(method, seed, epochs, seconds, z, yt, counts):
    """The JSON row of one run: its name, seed, epochs and seconds, and the metrics of the argmax of Z."""
    return {"method": method, "seed": seed, "epochs": epochs, "seconds": seconds, **metrics(z.argmax(1).numpy(), yt, counts)}


def append(out, rows):
    """ROWS appended to the JSON-lines file OUT."""
    with open(out, "a") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def main():
    out, method, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 12
    drw = (2 * 160 * epochs + 200) // 400   # docs/methods.md §0.6: 160 of 200, rounded half up (10 of 12)
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    x, y, xt, yt = load_view()
    counts, mean, std = stats(x, y)
    loss_name, sampler, head = METHODS[method]
    torch.manual_seed(seed)
    model = tailor_torch.build("cnn", (1, 28, 28), C, head=head)
    if loss_name == "cb-focal":
        with torch.no_grad():
            model.head.bias.fill_(-math.log(C - 1))
    seconds = train(model, x, y, mean, std, seed, epochs,
                    lambda xb, yb, e: loss_fn(loss_name, model(xb), yb, counts, e, drw), sampler)
    z = logits(model, xt, mean, std)
    rows = [row(method, seed, epochs, seconds, z, yt, counts)]
    if method == "ce":  # post-hoc logit adjustment, τ = 1, on the same model
        a = torch.tensor(np.log((counts / counts.sum()) ** 1.0 + 1e-12), dtype=z.dtype)
        rows.append(row("posthoc-la", seed, epochs, 0.0, z - a, yt, counts))
    append(out, rows)


if __name__ == "__main__":
    main()
