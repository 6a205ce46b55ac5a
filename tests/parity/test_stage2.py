"""Stage 2 and the causal head against PyTorch / numpy in float64.

1. Heads (tests/parity/stage2_dump.c): the causal head (K = 2 and 4), ncm (l2, cosine) and lws:
   training logits, the CE gradients of the features and of every parameter, the causal moving
   average after the training forward, and the inference logits (TDE for causal), against the
   modules of python/tailor_torch.py in float64 (rtol 1e-5 of each tensor's largest magnitude; the C
   side is float32).
2. Saved models (docs/methods.md §8.2, 8.3): a small mlp trained by `tailor train` on a CSV data set with a
   validation split, then `tailor retrain --method ncm|ncm:metric=cosine|tau|tau:tau=0.5`. From the
   stage-1 model.safetensors alone (loaded into PyTorch) this recomputes the training, validation and
   test features, the NCM mean and centroids, the tau sweep on validation (every balanced accuracy and
   the chosen tau), the tau-normalised weights, and compares the logits `tailor predict` prints for
   the retrained runs with the PyTorch modules on those runs' files."""
import functools
import json
import os
import subprocess
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

import parity
import st
import tailor_torch

T = os.path.join(parity.BUILD, "tailor")
torch.set_default_dtype(torch.float64)
close = functools.partial(parity.close, tol=1e-5, floor=1e-6)


def heads():
    t, meta = parity.load("stage2_dump")
    for cs, spec in sorted(meta.items()):
        n, d = t[f"{cs}.feat"].shape
        c = t[f"{cs}.logits"].shape[1]
        head = tailor_torch.make_head(spec, d, c)
        head.load_state_dict({k[len(cs) + 9:]: torch.from_numpy(v.astype(np.float64))
                              for k, v in t.items() if k.startswith(f"{cs}.in/head.")}, strict=True)
        head.train()
        x = torch.tensor(t[f"{cs}.feat"].astype(np.float64), requires_grad=True)
        z = head(x)
        F.cross_entropy(z, torch.from_numpy(t[f"{cs}.y"].astype(np.int64))).backward()
        close(f"{spec} logits", t[f"{cs}.logits"], z.detach())
        close(f"{spec} dfeat", t[f"{cs}.dfeat"], x.grad)
        for name, p in head.named_parameters():
            close(f"{spec} grad {name}", t[f"{cs}.grad/head.{name}"], p.grad)
        for name, b in head.named_buffers():
            close(f"{spec} state {name}", t[f"{cs}.out/head.{name}"], b)
        head.eval()
        with torch.no_grad():
            close(f"{spec} inference logits", t[f"{cs}.infer_logits"], head(x))


def run(*args):
    subprocess.run([T, *args, "--quiet"], check=True, stdout=subprocess.DEVNULL)


def predict(run_dir, csv):
    out = subprocess.run([T, "predict", "--run", run_dir, "--input", csv], check=True, capture_output=True, text=True).stdout
    rows = [l.split(",") for l in out.strip().splitlines()[1:]]
    C = (len(rows[0]) - 2) // 2
    return np.array([[float(v) for v in r[2:2 + C]] for r in rows])


def balanced(z, y):
    p = z.argmax(1)
    return np.mean([np.mean(p[y == c] == c) for c in np.unique(y)])


def saved_models(tmp):
    rng = np.random.default_rng(3)
    C, per = 4, [300, 120, 50, 45]
    rows = []
    for c in range(C):
        mu = rng.normal(size=5) * 1.5
        rows += [list(mu + rng.normal(size=5)) + [c] for _ in range(per[c])]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    csv = os.path.join(tmp, "d.csv")
    with open(csv, "w") as f:
        f.write("a,b,c,d,e,label\n")
        for r in rows:
            f.write(",".join(f"{v:.5f}" for v in r[:5]) + f",{r[5]}\n")
    s1 = os.path.join(tmp, "s1")
    run("train", "--data", f"csv:{csv},{csv}", "--model", "mlp", "--hidden", "12/6", "--val", "15", "--epochs", "4",
        "--batch", "32", "--out", s1)
    for m, name in (("ncm", "ncm"), ("ncm:metric=cosine", "ncmcos"), ("tau", "tau"), ("tau:tau=0.5", "tau05")):
        run("retrain", "--run", s1, "--method", m, "--out", os.path.join(tmp, name))
    # The data view: the last 15 rows of each class (file order) are the validation split.
    X = np.array([r[:5] for r in rows], np.float32).astype(np.float64)
    Y = np.array([r[5] for r in rows])
    val = np.zeros(len(rows), bool)
    for c in range(C):
        val[np.where(Y == c)[0][-15:]] = True
    model = tailor_torch.load(os.path.join(s1, "model.safetensors")).double()
    _, meta = st.load(os.path.join(s1, "model.safetensors"))
    mean = np.array([float(v) for v in meta["norm_mean"].split("/")])
    std = np.array([float(v) for v in meta["norm_std"].split("/")])
    with torch.no_grad():
        feat = model.backbone(torch.from_numpy(((X - mean) / std).astype(np.float32).astype(np.float64))).numpy()
    ftr, ytr, fva, yva = feat[~val], Y[~val], feat[val], Y[val]
    # NCM (cl2n): training mean and centroids of the normalised centred features.
    fbar = ftr.mean(0)
    g = (ftr - fbar) / np.maximum(np.linalg.norm(ftr - fbar, axis=1, keepdims=True), 1e-12)
    cent = np.stack([g[ytr == c].mean(0) for c in range(C)])
    t, _ = st.load(os.path.join(tmp, "ncm", "model.safetensors"))
    close("ncm feat_mean", t["head.feat_mean"], fbar)
    close("ncm centroids", t["head.centroids"], cent)
    gt = (feat - fbar) / np.linalg.norm(feat - fbar, axis=1, keepdims=True)
    want = {"ncm": -np.maximum((gt ** 2).sum(1)[:, None] + (cent ** 2).sum(1)[None] - 2 * gt @ cent.T, 0),
            "ncmcos": gt @ (cent / np.linalg.norm(cent, axis=1, keepdims=True)).T}
    for name in ("ncm", "ncmcos"):
        got = predict(os.path.join(tmp, name), csv)
        close(f"{name} logits (tailor predict vs numpy)", got, want[name], tol=1e-4)
        m2 = tailor_torch.load(os.path.join(tmp, name, "model.safetensors")).double()
        with torch.no_grad():
            close(f"{name} logits (tailor_torch module)", got, m2(torch.from_numpy(((X - mean) / std).astype(np.float32).astype(np.float64))), tol=1e-4)
    # tau: the sweep on validation, the chosen tau, the weights.
    W = model.head.weight.detach().numpy()
    rep = json.load(open(os.path.join(tmp, "tau", "report.json")))["stage2"]
    sweep = {round(e["tau"], 1): e["val_balanced_accuracy"] for e in rep["sweep"]}
    best, best_tau = -1, 0
    for k in range(21):
        tau = k / 10
        Wt = W / np.linalg.norm(W, axis=1, keepdims=True) ** tau
        b = balanced(fva @ Wt.T, yva)
        close(f"tau sweep {tau}", sweep[tau], b, tol=1e-12)
        if b > best:
            best, best_tau = b, tau
    parity.report(abs(rep["tau"] - best_tau) < 1e-12, f"tau chosen {rep['tau']} == {best_tau}")
    for name, tau in (("tau", best_tau), ("tau05", 0.5)):
        t, _ = st.load(os.path.join(tmp, name, "model.safetensors"))
        Wt = W / np.linalg.norm(W, axis=1, keepdims=True) ** tau
        close(f"{name} weights", t["head.weight"], Wt)
        parity.report(not np.any(t["head.bias"]), f"{name} bias zero")
        close(f"{name} logits (tailor predict)", predict(os.path.join(tmp, name), csv), feat @ Wt.T, tol=1e-4)


heads()
with tempfile.TemporaryDirectory() as tmp:
    saved_models(tmp)
parity.finish()
