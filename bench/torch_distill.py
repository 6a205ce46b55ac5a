"""PyTorch reference for the distillation benchmark (bench/results_distill.sh, docs/results.md): a cnn
student trained with the re-balancing recipe of bench/torch_ref.py (same data view, normalisation,
augmentation, optimiser and schedule), taught by the teacher file tailor trained (loaded with
python/tailor_torch.py, evaluation mode, no gradient), with the distillation losses written as the
reference code writes them: Hinton KD as kl_div(log_softmax(zs/T), softmax(zt/T))·T² added to CE
(docs/methods.md §10.1, the additive form, T = 4), and RKD-DA on the backbone features with lenscloth/RKD's
pdist, RkdDistance and RKdAngle (weights 1 and 2) added to CE (§10.2).

Usage: python3 bench/torch_distill.py OUT.jsonl TEACHER.safetensors alone|kd|rkd-da SEED [EPOCHS]
-> appends one JSON line.
"""
import os
import sys

import torch
import torch.nn.functional as F

import torch_ref as ref  # bench/torch_ref.py
import tailor_torch  # python/, on sys.path once torch_ref is imported
from tailor_torch import kd_loss, rkd_angle, rkd_distance


def main():
    out, teacher_path, method, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    epochs = int(sys.argv[5]) if len(sys.argv) > 5 else 12
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    x, y, xt, yt = ref.load_view()
    counts, mean, std = ref.stats(x, y)
    teacher = tailor_torch.load(teacher_path)   # trained on the same view: the same normalisation
    torch.manual_seed(seed)
    model = tailor_torch.build("cnn", (1, 28, 28), ref.C)

    def loss(xb, yb, epoch):
        feat = model.backbone(xb)
        z = model.head(feat)
        task = F.cross_entropy(z, yb)
        if method == "alone":
            return task
        with torch.no_grad():
            tfeat = teacher.backbone(xb)
            tz = teacher.head(tfeat)
        if method == "kd":
            return task + kd_loss(z, tz, 4.0)
        return task + rkd_distance(feat, tfeat) + 2 * rkd_angle(feat, tfeat)

    seconds = ref.train(model, x, y, mean, std, seed, epochs, loss)
    ref.append(out, [ref.row(method, seed, epochs, seconds, ref.logits(model, xt, mean, std), yt, counts)])


if __name__ == "__main__":
    main()
