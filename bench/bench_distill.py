"""The distillation losses, tailor (bench/bench_distill.c) against PyTorch (python/tailor_torch.py's
kd_loss, rkd_distance and rkd_angle, lenscloth/RKD's formulas, float32 with autograd), value and
gradient of one training batch: N = 128, student D = 128 / C = 10, teacher D = 64. Prints a Markdown
table of the medians (ms) and the speed-up tailor/torch. Both sides are single calls on one thread
group; tailor and torch alternate for ROUNDS rounds and each figure is the lowest per-round median.
Usage: /usr/bin/python3 bench/bench_distill.py [REPS [ROUNDS [THREADS]]]   (env TL_BUILD, default build)"""
import os
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from tailor_torch import kd_loss, rkd_angle, rkd_distance  # noqa: E402

N, DS, DT, C = 128, 128, 64, 10


def torch_times(reps):
    torch.manual_seed(0)
    s, t = torch.randn(N, DS), torch.randn(N, DT)
    zs, zt = torch.randn(N, C), torch.randn(N, C)
    calls = {"kd": (zs, lambda x: kd_loss(x, zt, 4.0)), "rkd_distance": (s, lambda x: rkd_distance(x, t)),
             "rkd_angle": (s, lambda x: rkd_angle(x, t))}
    out = {}
    for name, (x0, f) in calls.items():
        ts = []
        for i in range(-3, reps):
            x = x0.clone().requires_grad_()
            t0 = time.perf_counter()
            f(x).backward()
            if i >= 0:
                ts.append(1e3 * (time.perf_counter() - t0))
        out[name] = sorted(ts)[len(ts) // 2]
    return out


def tailor_times(reps):
    build = os.environ.get("TL_BUILD", "build")
    lines = subprocess.run([f"{build}/bench/bench_distill", str(reps)], check=True, capture_output=True, text=True).stdout
    return {name: float(ms) for name, ms in (l.split("\t") for l in lines.splitlines())}


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    torch.set_num_threads(threads)
    best_t, best_p = {}, {}
    for _ in range(rounds):
        for name, ms in tailor_times(reps).items():
            best_t[name] = min(ms, best_t.get(name, ms))
        for name, ms in torch_times(reps).items():
            best_p[name] = min(ms, best_p.get(name, ms))
    print(f"| loss (value + gradient, N = {N}) | tailor ms | PyTorch ms ({threads} threads) | speed-up |")
    print("|---|---:|---:|---:|")
    for name in best_t:
        print(f"| {name} | {best_t[name]:.3f} | {best_p[name]:.3f} | {best_p[name] / best_t[name]:.1f}x |")


if __name__ == "__main__":
    main()
