"""PyTorch reference for the SLA benchmark (bench/results_sla.sh): the recipe and data view of
bench/torch_ref.py (its data loading, augmentation, cosine schedule and metrics are reused), with the
model of python/tailor_torch.py build("cnn", head=...) and the loss by method:

  ce       linear head, F.cross_entropy on the logits
  sla      the sla head: torch.rot90 copies after crop/flip, mean CE over the joint labels (docs/methods.md §11.2)
  sla-sd   sla:sd=1: plus CE of the distilled head and T^2 KL to the detached aggregate, T = 1 (§11.3)

Evaluation: argmax of the model's class logits (sla: aggregated over the rotations; sla-sd: the
distilled head), and as extra rows sla-single (sla's rotation-0 columns) and sla-sd-agg (sla-sd's
aggregate).

Usage: python3 bench/torch_sla.py OUT.jsonl METHOD SEED [EPOCHS]  -> appends JSON lines.
"""
import os
import sys

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
    counts, mean, std = ref.stats(x, y)
    torch.manual_seed(seed)
    model = tailor_torch.build("cnn", (1, 28, 28), ref.C, head=HEADS[method])
    seconds = ref.train(model, x, y, mean, std, seed, epochs,
                        lambda xb, yb, e: F.cross_entropy(model(xb), yb) if method == "ce" else model.loss(xb, yb))
    rows = [ref.row(method, seed, epochs, seconds, ref.logits(model, xt, mean, std), yt, counts)]
    if method in EXTRA:
        name, infer = EXTRA[method]
        model.head.infer = infer
        rows.append(ref.row(name, seed, epochs, 0.0, ref.logits(model, xt, mean, std), yt, counts))
    ref.append(out, rows)


if __name__ == "__main__":
    main()
