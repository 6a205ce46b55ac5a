"""The ImageNet ResNets (resnet10/18/34/50, resnext50) against torchvision's own modules.

For each: a random torchvision model (10 classes; BN affine parameters and running statistics drawn
away from their defaults so they matter) is converted with python/tailor_convert.py, tailor loads it
(model_dump MODEL.safetensors: strict names and shapes), and on batches of 8 images of 3x32x32
(the smallest input: 1x1 maps in layer4; the last BN weight of each block in [0.15, 0.3], see
random_model) tailor's training-mode logits, loss, input gradient, every
parameter gradient, the BN running statistics after that step, the parameters after 3 SGD steps and
the evaluation-mode logits must agree with torchvision's model in float64 under the rule of
test_models.py (parity.close_to_torch), with PyTorch's own float32 error taken as the larger of its
two memory formats' (NCHW and channels_last: two equally valid kernels). The 3 steps of the deep
bottleneck nets are chaotic at this batch (BN statistics over 8 values in layer4), so after them
any float32 run lands O(1e-3) away from float64 in some tensors, PyTorch's NCHW run by luck
sometimes 10x closer than its channels_last run; tailor's error lies between the two. The model file tailor writes must load into torchvision with
strict=True, and the evaluation-mode logits of the tailor-trained weights (after the 3 steps), loaded
into torchvision in float32, must agree with tailor's within 1e-4."""
import os
import tempfile

import numpy as np
import torch

import parity
import st
import tailor_convert
import tailor_torch

C = 10


def random_model(arch):
    model = tailor_torch.torchvision_resnet(arch, C)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        # The last BN of each residual branch small, as zero_init_residual intends: otherwise 16
        # bottleneck blocks with batch statistics over 8 values (layer4's 1x1 maps) make the 3 SGD
        # steps chaotic, and PyTorch's own float32 run drifts from float64 by O(1).
        for name, m in model.named_modules():
            if name.endswith(".bn3") or (name.endswith(".bn2") and not hasattr(model.layer1[0], "bn3")):
                m.weight.uniform_(0.15, 0.3)
    return model


def check(arch):
    model = random_model(arch)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "init.safetensors")
        tailor_convert.to_tailor(model.state_dict(), arch, src, (3, 32, 32), mean=None, std=None)
        with parity.dump("model_dump", src, parity.FILE) as out:
            dump, _ = st.load(out)
            refs = []
            for dtype, fmt in ((torch.float64, torch.contiguous_format), (torch.float32, torch.contiguous_format),
                               (torch.float32, torch.channels_last)):
                tv = tailor_torch.torchvision_resnet(arch, C)
                tv.load_state_dict(tailor_convert.to_state_dict(out + ".model"), strict=True)
                refs.append(parity.model_steps(tv.to(memory_format=fmt), dump, dtype, labels=False))
    ref64 = refs[0]
    for key in ref64:
        # PyTorch's own float32 error: the larger of its two memory formats' (see the docstring).
        ref32 = max(refs[1:], key=lambda r: parity.rel_err(r[key], ref64[key], 1e-2))[key]
        parity.close_to_torch(f"{arch} {key}", dump[key], ref64[key], ref32)
    # The tailor-trained weights in torchvision (float32, evaluation mode).
    tv = tailor_torch.torchvision_resnet(arch, C)
    sd = {k[len("final/"):]: torch.from_numpy(v) for k, v in dump.items() if k.startswith("final/")}
    sd.update({k: v for k, v in tv.state_dict().items() if k.endswith("num_batches_tracked")})
    tv.load_state_dict(sd, strict=True)
    with torch.no_grad():
        want = tv.eval()(torch.from_numpy(dump["x"])).numpy()
    parity.close(f"{arch} trained weights in torchvision: eval logits", dump["eval_logits"], want, 1e-4)


torch.manual_seed(0)
np.random.seed(0)
for arch in tailor_torch.RESNETS:
    check(arch)
parity.finish()
