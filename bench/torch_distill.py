"""PyTorch reference for the distillation benchmark (bench/results_distill.sh, docs/results.md): a cnn
student trained with the re-balancing recipe of bench/torch_ref.py (same data view, normalisation,
augmentation, optimiser and schedule), taught by the teacher file tailor trained (loaded with
python/tailor_torch.py, evaluation mode, no gradient), with the distillation losses written as the
reference code writes them: Hinton KD as kl_div(log_softmax(zs/T), softmax(zt/T))·T² added to CE
(methods.md §10.1, the additive form, T = 4), and RKD-DA on the backbone features with lenscloth/RKD's
pdist, RkdDistance and RKdAngle (weights 1 and 2) added to CE (§10.2).

Usage: python3 bench/torch_distill.py OUT.jsonl TEACHER.safetensors alone|kd|rkd-da SEED [EPOCHS]
-> appends one JSON line.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)
import tailor_torch  # noqa: E402
from tailor_torch import kd_loss, rkd_angle, rkd_distance  # noqa: E402
from torch_ref import BATCH, C, LR, MOM, WD, augment, load_view, metrics  # noqa: E402


def main():
    out, teacher_path, method, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    epochs = int(sys.argv[5]) if len(sys.argv) > 5 else 12
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    x, y, xt, yt = load_view()
    counts = np.bincount(y, minlength=C).astype(np.float64)
    mean, std = float(x.mean(dtype=np.float64)), float(x.std(dtype=np.float64))
    teacher = tailor_torch.load(teacher_path)   # trained on the same view: the same normalisation
    torch.manual_seed(seed)
    model = tailor_torch.build("cnn", (1, 28, 28), C)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOM, weight_decay=WD)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    t0 = time.time()
    for e in range(epochs):
        for g in opt.param_groups:
            g["lr"] = LR * (1 + math.cos(math.pi * e / epochs)) / 2
        rng = np.random.default_rng([seed, e])
        order = rng.permutation(len(y))
        model.train()
        for s in range(len(order) // BATCH):
            b = torch.from_numpy(order[s * BATCH:(s + 1) * BATCH])
            xb = (augment(X[b], rng) - mean) / std
            feat = model.backbone(xb)
            z = model.head(feat)
            loss = F.cross_entropy(z, Y[b])
            if method != "alone":
                with torch.no_grad():
                    tfeat = teacher.backbone(xb)
                    tz = teacher.head(tfeat)
                if method == "kd":
                    loss = loss + kd_loss(z, tz, 4.0)
                else:
                    loss = loss + rkd_distance(feat, tfeat) + 2 * rkd_angle(feat, tfeat)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        z = torch.cat([model((torch.from_numpy(xt[i:i + 1000])[:, None] - mean) / std) for i in range(0, len(xt), 1000)])
    row = {"method": method, "seed": seed, "epochs": epochs, "seconds": time.time() - t0,
           **metrics(z.argmax(1).numpy(), yt, counts)}
    with open(out, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
