"""Whole-model parity: tailor's cnn, resnet32 and mlp (with linear and cosine heads) against the
PyTorch modules of python/tailor_torch.py on the same weights and inputs: training-mode logits,
loss, every parameter gradient, the input gradient and the updated BN running statistics; then 3
SGD steps (momentum, Nesterov, weight decay) and an evaluation-mode forward.

The reference is PyTorch in float64. A deep float32 network with batch statistics is conditioned so
that PyTorch's own float32 result can differ from its float64 one by more than 1e-4 on some tensors
(measured: up to ~5% on ResNet-32's input gradient at batch 8), so each tensor must agree with the
float64 reference within max(1e-4, 2 x the error of PyTorch's float32 run on that tensor): tailor
must be at least about as accurate as PyTorch itself. Errors are relative to the tensor's largest
magnitude, with a floor of 1e-2 on that magnitude for tensors that vanish in exact arithmetic (the
gradient of a bias feeding a BatchNorm)."""
import torch

import parity
import st
import tailor_torch


def run_torch(path, dump, dtype):
    """Everything the C side dumped, recomputed by PyTorch in dtype."""
    return parity.model_steps(tailor_torch.load(path), dump, dtype)


def check(arch, head="linear"):
    with parity.dump("model_dump", arch, parity.FILE, head) as out:
        dump, _ = st.load(out)
        ref64 = run_torch(out + ".model", dump, torch.float64)
        ref32 = run_torch(out + ".model", dump, torch.float32)
    for key in ref64:
        parity.close_to_torch(f"{arch}/{head} {key}", dump[key], ref64[key], ref32[key])


torch.manual_seed(0)
for arch in ("cnn", "resnet32", "mlp"):
    check(arch)
check("cnn", "cosine:s=16")
check("mlp", "cosine:s=30")
# margin heads: training logits use the labels, evaluation logits are the plain ones
check("cnn", "arcface:s=30,m=0.5")
for head in ("cosface:s=30,m=0.35", "combined:s=30,m1=1,m2=0.3,m3=0.2", "lsoftmax:m=4", "sphereface:m=2,base=10",
             "affinity:sigma=128,centres=2", "uniformface", "adaptiveface", "uncertainty:base=10",
             "uncertainty:weights=raw,competitor=union,base=10"):
    check("mlp", head)
parity.finish()
