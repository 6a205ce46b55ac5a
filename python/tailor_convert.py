"""Converts torchvision ResNet weights to tailor model files and back (docs/interop.md).

tailor's ImageNet ResNets (resnet10, resnet18, resnet34, resnet50, resnext50) name their tensors as
torchvision's state_dict does (conv1.weight, layer1.0.bn1.running_mean, ..., fc.weight), so the
conversion only changes the container:

    python3 python/tailor_convert.py to-tailor resnet18 weights.pth resnet18.safetensors [--input 3,224,224]
    python3 python/tailor_convert.py to-torch runs/x/model.safetensors weights.pth

weights.pth is a state_dict saved with torch.save (torch.save(model.state_dict(), "weights.pth")).
The tailor file then starts a fine-tuning run (tailor train --init resnet18.safetensors), and a
tailor run's model.safetensors loads into torchvision.models.resnet18(num_classes=C) with
load_state_dict(to_state_dict(path), strict=True). From Python: to_tailor(state_dict, arch, path)
and to_state_dict(path).
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

ARCHS = ("resnet10", "resnet18", "resnet34", "resnet50", "resnext50")
# torchvision's ImageNet normalisation, for pixels in 0..255 as tailor stores it: (x - 255·m) / (255·s).
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)


def to_tailor(state_dict, arch, path, input_shape=(3, 224, 224), mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Writes a torchvision ResNet state_dict as a tailor model file (linear head `fc`). mean and std
    (per channel, pixels in 0..255; None for none) are the input normalisation the weights expect."""
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch} (valid: {', '.join(ARCHS)})")
    tensors = {}
    for name, t in state_dict.items():
        a = t.detach().cpu().numpy()
        tensors[name] = a.astype(np.int64) if name.endswith("num_batches_tracked") else a.astype(np.float32)
    if "fc.weight" not in tensors:
        raise ValueError("the state_dict has no fc.weight: not a torchvision ResNet classifier")
    c = tensors["conv1.weight"].shape[1]
    num_classes, feat_dim = tensors["fc.weight"].shape
    meta = {"format": "tailor-model", "arch": arch, "input": ",".join(str(v) for v in input_shape),
            "num_classes": num_classes, "feat_dim": feat_dim, "hidden": "", "dropout": 0, "head": "linear"}
    if mean is not None and std is not None and len(mean) == c:
        meta["norm_mean"] = "/".join(repr(float(v)) for v in mean)
        meta["norm_std"] = "/".join(repr(float(v)) for v in std)
    st.save(path, tensors, meta)


def to_state_dict(path):
    """The tensors of a tailor model file as a state_dict of torch tensors."""
    tensors, _ = st.load(path)
    return {k: torch.from_numpy(v) for k, v in tensors.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("to-tailor", help="torch state_dict (.pth) -> tailor model file")
    a.add_argument("arch", choices=ARCHS)
    a.add_argument("src")
    a.add_argument("dst")
    a.add_argument("--input", default="3,224,224", help="C,H,W the tailor model is built for")
    b = sub.add_parser("to-torch", help="tailor model file -> torch state_dict (.pth)")
    b.add_argument("src")
    b.add_argument("dst")
    args = ap.parse_args()
    if args.cmd == "to-tailor":
        sd = torch.load(args.src, map_location="cpu")
        to_tailor(sd, args.arch, args.dst, tuple(int(v) for v in args.input.split(",")))
    else:
        torch.save(to_state_dict(args.src), args.dst)


if __name__ == "__main__":
    main()
