"""The PyTorch side of bench/results_margin.sh: trains tailor's cnn (python/tailor_torch.py) with a
margin head on long-tailed Fashion-MNIST (--lt exp:IF, the first n_i images of each class in file
order, n_i = trunc(6000 · IF^(−i/9))), with tailor's recipe of that script (Adam, constant lr, batch
128, no augmentation, inputs normalised with the view's mean and std, a fresh shuffle per epoch and
the last short batch dropped), and prints the test balanced accuracy.
Usage: margin_torch.py HEAD IF EPOCHS SEED LR THREADS"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

import tailor_torch
from torch_ref import fashion_mnist  # bench/torch_ref.py

head, imb, epochs, seed, lr, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
torch.set_num_threads(threads)
torch.manual_seed(seed)
xtr, ytr, xte, yte = fashion_mnist()
xtr, xte = xtr.reshape(-1, 1, 28, 28), xte.reshape(-1, 1, 28, 28)
keep = []
for c in range(10):
    n = int(6000 * (1.0 / imb) ** (c / 9.0))
    keep.extend(np.flatnonzero(ytr == c)[:n])
keep = np.sort(np.array(keep))
xtr, ytr = xtr[keep], ytr[keep]
mean, std = xtr.mean(dtype=np.float64), xtr.std(dtype=np.float64)
xtr, xte = torch.tensor((xtr - mean) / std, dtype=torch.float32), torch.tensor((xte - mean) / std, dtype=torch.float32)
ytr, yte = torch.tensor(ytr), torch.tensor(yte)
model = tailor_torch.build("cnn", (1, 28, 28), 10, head=head)
opt = torch.optim.Adam(model.parameters(), lr=lr)
B = 128
for e in range(epochs):
    model.train()
    perm = torch.randperm(len(ytr))
    for s in range(len(ytr) // B):
        b = perm[s * B:(s + 1) * B]
        opt.zero_grad()
        F.cross_entropy(model(xtr[b], ytr[b]), ytr[b]).backward()
        opt.step()
model.eval()
with torch.no_grad():
    pred = torch.cat([model(xte[i:i + 1000]).argmax(1) for i in range(0, len(yte), 1000)])
recall = [(pred[yte == c] == c).double().mean().item() for c in range(10)]
print(f"balanced_accuracy={np.mean(recall):.6f}")
