"""PyTorch reference for the SLA benchmark (bench/results_sla.sh): the recipe and data view of
bench/torch_ref.py (its data loading, augmentation, cosine schedule and metrics are reused), with the
model of python/tailor_torch.py build("cnn", head=...) and the loss by method:

  ce       linear head, F.cross_entropy on the logits
  sla      the sla head: torch.rot90 copies after crop/flip, mean CE over the joint labels (methods.md §11.2)
  sla-sd   sla:sd=1: plus CE of the distilled head and T^2 KL to the detached aggregate, T = 1 (§11.3)

Evaluation: argmax of the model's class logits (sla: aggregated over the rotations; sla-sd: the
distilled head), and as extra rows sla-single (sla's rotation-0 columns) and sla-sd-agg (sla-sd's
aggregate).

Usage: python3 bench/torch_sla.py OUT.jsonl METHOD SEED [EPOCHS]  -> appends JSON lines.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import torch_ref as ref  # bench/torch_ref.py
import tailor_torch  # python/, on sys.path once torch_ref is imported

HEADS = {"ce": "linear", "sla": "sla", "sla-sd": "sla:sd=1"}
EXTRA = {"sla": ("sla-single", "single"), "sla-sd": ("sla-sd-agg", "agg")}


def main():
    out, method, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 12
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    x, y, xt, yt = ref.load_view()
    counts = np.bincount(y, minlength=ref.C).astype(np.float64)
    mean, std = float(x.mean(dtype=np.float64)), float(x.std(dtype=np.float64))
    torch.manual_seed(seed)
    model = tailor_torch.build("cnn", (1, 28, 28), ref.C, head=HEADS[method])
    opt = torch.optim.SGD(model.parameters(), lr=ref.LR, momentum=ref.MOM, weight_decay=ref.WD)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    t0 = time.time()
    for e in range(epochs):
        for g in opt.param_groups:
            g["lr"] = ref.LR * (1 + math.cos(math.pi * e / epochs)) / 2
        rng = np.random.default_rng([seed, e])
        order = ref.epoch_order("instance", y, counts, e, epochs, rng)
        model.train()
        for s in range(len(order) // ref.BATCH):
            b = torch.from_numpy(order[s * ref.BATCH:(s + 1) * ref.BATCH])
            xb = (ref.augment(X[b], rng) - mean) / std
            loss = F.cross_entropy(model(xb), Y[b]) if method == "ce" else model.loss(xb, Y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.time() - t0
    model.eval()

    def predict():
        with torch.no_grad():
            z = torch.cat([model((torch.from_numpy(xt[i:i + 1000])[:, None] - mean) / std)
                           for i in range(0, len(xt), 1000)])
        return z.argmax(1).numpy()

    rows = [{"method": method, "seed": seed, "epochs": epochs, "seconds": seconds, **ref.metrics(predict(), yt, counts)}]
    if method in EXTRA:
        name, infer = EXTRA[method]
        model.head.infer = infer
        rows.append({"method": name, "seed": seed, "epochs": epochs, "seconds": 0.0, **ref.metrics(predict(), yt, counts)})
    with open(out, "a") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
