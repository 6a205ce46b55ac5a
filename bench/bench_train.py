"""Training-step speed of the PyTorch twin of a tailor model (python/tailor_torch.py; torchvision's
module for the ImageNet ResNets) on synthetic data, the same work as bench_train.c:
python3 bench_train.py ARCH BATCH STEPS THREADS [SIZE [eval]] -> "images_per_second=... peak_rss_mb=..."."""
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

import tailor_torch

arch, B, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
evaluate = len(sys.argv) == 7 and sys.argv[6] == "eval"
torch.set_num_threads(threads)
c, hw = (3, 32) if arch == "resnet32" else (1, 28)
if arch in tailor_torch.RESNETS:
    c, hw = 3, int(sys.argv[5]) if len(sys.argv) > 5 else 224
model = tailor_torch.build(arch, (c, hw, hw), 10).train(not evaluate)
x = torch.randn(B, c, hw, hw)
y = torch.randint(0, 10, (B,))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
rounds = []
for r in range(-1, 5):
    t0 = time.perf_counter()
    for _ in range(3 if r < 0 else steps):
        if evaluate:
            with torch.no_grad():
                model(x)
            continue
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    if r >= 0:
        rounds.append(steps * B / (time.perf_counter() - t0))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"images_per_second={statistics.median(rounds):.1f} peak_rss_mb={rss:.1f}")
