"""Parity of tailor's image transforms (src/data/transform.h) with torchvision 0.14 on PIL images.

tests/parity/transform_dump.c writes random gray and RGB images (17x300, 375x500, 500x375, 64x64, 3x5;
smooth and pure noise) and tailor's results of resize, center crop, padded crop, flip, resized crop,
brightness / contrast / saturation, L <-> RGB conversion and whole deterministic pipelines. This script
redoes each on the same image with torchvision.transforms.functional on a PIL image and compares:
resizes within 2 levels of 255 (the max difference is printed), the colour adjustments within 1, the
rest exact. The RandomResizedCrop boxes tailor draws (with its own rng) are checked to lie in the image,
and their mean area fraction, mean log aspect and share of full-height boxes against torchvision's
get_params over as many draws.
"""
import math

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

import parity

TOL = {"resize": 2, "resized_crop": 2, "pipeline": 2, "brightness": 1, "contrast": 1, "saturation": 1}


def pil(a):
    a = a.astype(np.uint8)
    return Image.fromarray(a[:, :, 0], "L") if a.shape[2] == 1 else Image.fromarray(a, "RGB")


def arr(im):
    a = np.asarray(im, dtype=np.int32)
    return a[:, :, None] if a.ndim == 2 else a


def torchvision_result(img, op, args):
    if op == "resize":
        return F.resize(img, [int(args[0]), int(args[1])])
    if op == "center_crop":
        return F.center_crop(img, [int(args[0])] * 2)
    if op == "pad_crop":  # RandomCrop(size, padding=P)'s pad, then crop at the drawn corner
        P, top, left = map(int, args)
        return F.crop(F.pad(img, P), top + P, left + P, img.height, img.width)
    if op == "hflip":
        return F.hflip(img)
    if op == "resized_crop":
        top, left, h, w, S = map(int, args)
        return F.resized_crop(img, top, left, h, w, [S, S])
    if op == "brightness":
        return F.adjust_brightness(img, float(args[0]))
    if op == "contrast":
        return F.adjust_contrast(img, float(args[0]))
    if op == "saturation":
        return F.adjust_saturation(img, float(args[0]))
    if op == "convert":
        return img.convert("L" if args[0] == "1" else "RGB")
    if op == "pipeline":
        steps = []
        for item in args[0].split(","):
            name, size = item.split(":size=")
            steps.append(T.Resize(int(size)) if name == "resize" else T.CenterCrop(int(size)))
        return T.Compose(steps)(img)
    raise ValueError(op)


def check_cases(tensors, meta):
    worst = {}
    for key, desc in meta.items():
        if key.startswith("boxes"):
            continue
        s, op, *args = desc.split(" ")
        src = tensors["img" + s]
        want = arr(torchvision_result(pil(src), op, args))
        got = tensors[key]
        tol = TOL.get(op, 0)
        diff = int(np.abs(got - want).max()) if got.shape == want.shape else None
        ok = diff is not None and diff <= tol
        shape = "x".join(map(str, src.shape))
        if not ok:
            parity.report(False, f"{op} {' '.join(args)} on {shape}: " +
                          (f"max diff {diff} > {tol}" if diff is not None else f"shape {got.shape} vs {want.shape}"))
        w = worst.setdefault(op, [0, 0, tol])
        w[0] = max(w[0], diff if diff is not None else 999)
        w[1] += 1
    for op, (diff, n, tol) in sorted(worst.items()):
        parity.report(diff <= tol, f"{op}: {n} cases, max diff {diff} levels (tol {tol})")


def box_stats(boxes, ih, iw):
    """Per box: its area fraction, its log aspect w / h and whether it is full height (on a wide strip,
    what the fallback gives)."""
    area = boxes[:, 2] * boxes[:, 3] / (ih * iw)
    return area, np.log(boxes[:, 3] / boxes[:, 2]), (boxes[:, 2] == ih).astype(np.float64)


def check_boxes(tensors, meta):
    torch.manual_seed(0)
    for key in sorted(k for k in meta if k.startswith("boxes")):
        ih, iw, s0, s1, r0, r1 = (float(v) for v in meta[key].split(" "))
        ih, iw = int(ih), int(iw)
        got = tensors[key].astype(np.int64)
        top, left, h, w = got.T
        inside = bool(np.all((top >= 0) & (left >= 0) & (h >= 1) & (w >= 1) & (top + h <= ih) & (left + w <= iw)))
        parity.report(inside, f"{key} {ih}x{iw}: all {len(got)} boxes inside the image")
        img = Image.new("L", (iw, ih))
        want = np.array([T.RandomResizedCrop.get_params(img, [s0, s1], [r0, r1]) for _ in range(len(got))], dtype=np.int64)
        for name, g, t in zip(("area fraction", "log aspect", "full-height share"),
                              box_stats(got, ih, iw), box_stats(want, ih, iw)):
            # means of two independent samples: agree within 5 standard errors of their difference
            se = math.sqrt((g.var() + t.var()) / len(got)) + 1e-12
            diff = abs(g.mean() - t.mean())
            parity.report(diff <= 5 * se or diff < 1e-12,
                          f"{key} {ih}x{iw} scale {s0:g}/{s1:g} ratio {r0:.3g}/{r1:.3g}: mean {name} "
                          f"{g.mean():.4f} vs torchvision {t.mean():.4f} (diff {diff:.4f}, 5 se {5 * se:.4f})")


def main():
    tensors, meta = parity.load("transform_dump")
    check_cases(tensors, meta)
    check_boxes(tensors, meta)
    parity.finish()


if __name__ == "__main__":
    main()
