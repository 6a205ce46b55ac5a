"""The PyTorch side of bench_loader.c: torchvision's ImageFolder and transforms on Pillow in a
DataLoader, the same folder, crop size, batch and number of worker processes.
Usage: bench_loader.py ROOT SIZE WORKERS [EPOCHS]; prints images/s of each epoch and the median."""
import statistics
import sys
import time

import torch
from torchvision import datasets, transforms

root, size, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
torch.set_num_threads(1)
tf = transforms.Compose([transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                         transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
ds = datasets.ImageFolder(f"{root}/train", tf)
dl = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True, num_workers=workers, drop_last=True,
                                 persistent_workers=workers > 0)
ips = []
for e in range(epochs):
    t0, seen = time.perf_counter(), 0
    for x, y in dl:
        seen += x.shape[0]
    ips.append(seen / (time.perf_counter() - t0))
    print(f"epoch {e}: {ips[-1]:.1f} images/s")
print(f"PyTorch DataLoader, {workers} workers, size {size}: median {statistics.median(ips):.1f} images/s")
