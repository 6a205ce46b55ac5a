"""Where PyTorch's training step goes, for comparison with bench_train's TL_PROFILE=1 output:
python3 torch_profile.py ARCH BATCH STEPS THREADS [SIZE] -> self CPU ms per step of the top aten ops
(SIZE: the input side of the ImageNet ResNets, default 224, as bench_train.py)."""
import sys

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

import tailor_torch

arch, B, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
c, hw = (3, 32) if arch == "resnet32" else (1, 28)
if arch in tailor_torch.RESNETS:
    c, hw = 3, int(sys.argv[5]) if len(sys.argv) > 5 else 224
model = tailor_torch.build(arch, (c, hw, hw), 10).train()
x, y = torch.randn(B, c, hw, hw), torch.randint(0, 10, (B,))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)


def step():
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()


for _ in range(3):
    step()
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for _ in range(steps):
        step()
rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
total = sum(e.self_cpu_time_total for e in rows)
for e in rows[:15]:
    print(f"{e.key:45s} {e.self_cpu_time_total / 1e3 / steps:8.2f} ms/step {100 * e.self_cpu_time_total / total:5.1f}%")
print(f"{'total (self CPU)':45s} {total / 1e3 / steps:8.2f} ms/step")
