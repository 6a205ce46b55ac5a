"""tailor's PNG / JPEG decoding against Pillow's (what torchvision's image-folder loader reads): each kind
of file of tests/images.py decoded by decode_dump and by Image.open(...).convert("RGB" or "L"):
exact for PNG (16-bit samples: the high byte), within 1 level for JPEG (the same libjpeg-turbo);
JPEG DCT scaling against Pillow's draft mode; the header probe's size and channels; the training
view's normalisation statistics against numpy's over Pillow's pixels."""
import os
import sys
import tempfile

import numpy as np
from PIL import Image

import parity
from parity import report

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import images  # noqa: E402


def pillow(path):
    """What tailor should decode: Pillow's pixels in the file's own channel count (1 or 3)."""
    im = Image.open(path)
    if im.mode in ("I;16", "I;16B", "I"):   # 16-bit gray: the high byte (Pillow's "L" clips instead)
        return (np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8)[:, :, None]
    gray = im.mode in ("1", "L", "LA") or (im.mode == "P" and False)
    return np.asarray(im.convert("L" if gray else "RGB"))[..., None] if gray else np.asarray(im.convert("RGB"))


with tempfile.TemporaryDirectory() as d:
    paths = images.write_kinds(d)
    t, meta = parity.load("decode_dump", "0", *paths)
    for i, p in enumerate(paths):
        kind = os.path.basename(p)
        if meta[str(i)] != "ok":
            report(False, f"{kind}: {meta[str(i)]}")
            continue
        got, want = t[str(i)], pillow(p).astype(np.int32)
        if got.shape != want.shape:
            report(False, f"{kind}: shape {got.shape} vs Pillow {want.shape}")
            continue
        diff = int(np.abs(got - want).max())
        tol = 1 if kind.endswith(".jpg") else 0
        report(diff <= tol, f"{kind}: {got.shape[1]}x{got.shape[0]}x{got.shape[2]}, max diff {diff} (tol {tol})")
        h, w, c = (int(v) for v in meta[f"probe{i}"].split())
        report((h, w, c) == got.shape, f"{kind}: probe gives {h}x{w}x{c}")
    # DCT scaling: decode with the shorter side kept >= S, as Pillow's draft((S, S)) picks the scale
    big = os.path.join(d, "big.jpg")
    Image.fromarray(images.picture(480, 640, 3, 11)).save(big, quality=90)
    for side in (480, 240, 100, 60, 50):
        t, meta = parity.load("decode_dump", str(side), big)
        im = Image.open(big)
        im.draft("RGB", (side * 640 // 480, side))
        want = np.asarray(im.convert("RGB")).astype(np.int32)
        got = t["0"]
        ok = got.shape == want.shape and int(np.abs(got - want).max()) <= 1
        report(ok and min(got.shape[:2]) >= side, f"draft to shorter side >= {side}: {got.shape} vs Pillow {want.shape}")
    # broken files: one clear error each, never a partial image
    trunc = os.path.join(d, "trunc.jpg")
    with open(os.path.join(d, "rgb.jpg"), "rb") as f:
        data = f.read()
    with open(trunc, "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    badpng = os.path.join(d, "bad.png")
    with open(os.path.join(d, "rgb.png"), "rb") as f:
        data = bytearray(f.read())
    data[60] ^= 0xFF
    with open(badpng, "wb") as f:
        f.write(bytes(data))
    t, meta = parity.load("decode_dump", "0", trunc, badpng)
    report(meta["0"] != "ok" and "bad JPEG" in meta["0"] and "trunc.jpg" in meta["0"], f"truncated JPEG: {meta['0']}")
    report(meta["1"] != "ok" and "bad PNG" in meta["1"], f"corrupt PNG: {meta['1']}")
# --normalize data: the per-channel mean and std of a folder's training images, against numpy
with tempfile.TemporaryDirectory() as d:
    images.write_collection(d, classes=3, scale=0.3)
    root = os.path.join(d, "folder")
    t, _ = parity.load("decode_dump", "stats", root)
    px = []
    for dirpath, _, files in sorted(os.walk(os.path.join(root, "train"))):
        for f in sorted(files):
            if f.endswith(".txt"):
                continue
            px.append(np.asarray(Image.open(os.path.join(dirpath, f)).convert("RGB")).reshape(-1, 3).astype(np.float64))
    px = np.concatenate(px)
    mean, std = px.mean(0), px.std(0)
    report(np.abs(t["mean"] - mean).max() < 1e-4 * 255, f"training view mean {t['mean']} vs numpy {mean}")
    report(np.abs(t["std"] - std).max() < 1e-4 * 255, f"training view std {t['std']} vs numpy {std}")
parity.finish()
