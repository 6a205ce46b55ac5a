"""Activation memory PyTorch's autograd keeps for one training step of a tailor model's twin
(python/tailor_torch.py): the bytes of the distinct tensor storages saved for backward, counted with
torch.autograd.graph.saved_tensors_hooks during the forward pass (parameters excluded), plus the
process's RSS before the model exists (Python + torch libraries).
Usage: python3 torch_memory.py ARCH BATCH -> "saved_mb=... libs_rss_mb=..." """
import resource
import sys

import torch

import tailor_torch

arch, B = sys.argv[1], int(sys.argv[2])
libs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
c, hw = (3, 32) if arch == "resnet32" else (1, 28)
model = tailor_torch.build(arch, (c, hw, hw), 10).train()
params = {p.data_ptr() for p in model.parameters()}
seen = {}


def pack(t):
    ptr = t.untyped_storage().data_ptr() if hasattr(t, "untyped_storage") else t.storage().data_ptr()
    if ptr not in params:
        seen[ptr] = max(seen.get(ptr, 0), t.element_size() * t.nelement())
    return t


with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
    loss = torch.nn.functional.cross_entropy(model(torch.randn(B, c, hw, hw)), torch.randint(0, 10, (B,)))
loss.backward()
print(f"saved_mb={sum(seen.values()) / 1e6:.1f} libs_rss_mb={libs:.1f}")
