"""Test images made by the tests themselves (nothing is downloaded), with Pillow and a small PNG writer
for what Pillow cannot write (16-bit colour, Adam7 interlacing, grey + alpha at 16 bits).

  python3 tests/images.py collection OUT [--classes K] [--scale F] [--seed S]
      an ImageNet-LT-like collection in OUT: OUT/folder/{train,val,test}/<class>/ (torchvision's
      ImageFolder layout) and OUT/list/{train,val,test}.txt ("path label" lines relative to
      OUT/folder, as ImageNet-LT's lists are to its root); Pareto-distributed class sizes, sizes from 17x300 to 640x480, colour and
      gray, JPEG and PNG (palette, 16-bit, interlaced, with alpha), one non-image file per split;
      each class has its own colour and stripe frequency, so a small model can learn it.
  python3 tests/images.py kinds OUT
      one file of each kind the decoder handles, named after the kind (see KINDS).
"""
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


_ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, a, bits=8, interlace=False):
    """a: uint8/uint16 array h x w (gray), h x w x 2 (gray + alpha), x 3 (RGB) or x 4 (RGBA)."""
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, :, None]
    h, w, c = a.shape
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    dt = ">u2" if bits == 16 else "u1"

    def rows(img):
        return b"".join(b"\x00" + img[y].astype(dt).tobytes() for y in range(img.shape[0]))

    if interlace:
        raw = b"".join(rows(a[y0::dy, x0::dx]) for x0, y0, dx, dy in _ADAM7 if a[y0::dy, x0::dx].size)
    else:
        raw = rows(a)
    ihdr = struct.pack(">IIBBBBB", w, h, bits, colour, 0, 0, 1 if interlace else 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))


def picture(h, w, c, seed, colour=None, freq=None):
    """A smooth picture with stripes (what photos and the classes look like), uint8 h x w x c."""
    r = np.random.default_rng(seed)
    colour = r.integers(0, 256, 3) if colour is None else np.asarray(colour)
    freq = r.uniform(2, 10) if freq is None else freq
    y, x = np.mgrid[0:h, 0:w]
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (x / max(w, 1) + 0.5 * y / max(h, 1)))
    img = colour[None, None, :] * (0.45 + 0.55 * stripes[:, :, None]) + r.normal(0, 12, (h, w, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    if c == 1:
        img = np.asarray(Image.fromarray(img).convert("L"))
    return img


KINDS = ["rgb.png", "gray.png", "palette.png", "palette_trns.png", "rgba.png", "gray_alpha.png", "gray16.png",
         "rgb16.png", "rgba16.png", "interlaced.png", "gray1bit.png", "rgb.jpg", "gray.jpg", "progressive.jpg",
         "cmyk.jpg", "odd.jpg"]


def write_kinds(out):
    """One image of each kind; returns the paths."""
    os.makedirs(out, exist_ok=True)
    r = np.random.default_rng(7)
    rgb = picture(37, 53, 3, 1)
    paths = []
    for k in KINDS:
        p = os.path.join(out, k)
        if k == "rgb.png":
            Image.fromarray(rgb).save(p)
        elif k == "gray.png":
            Image.fromarray(picture(40, 31, 1, 2)).save(p)
        elif k == "palette.png":
            Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=37).save(p)
        elif k == "palette_trns.png":
            im = Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=16)
            im.save(p, transparency=3)
        elif k == "rgba.png":
            a = np.dstack([rgb, r.integers(0, 256, rgb.shape[:2]).astype(np.uint8)])
            Image.fromarray(a, "RGBA").save(p)
        elif k == "gray_alpha.png":
            write_png(p, np.dstack([picture(23, 19, 1, 3), r.integers(0, 256, (23, 19))]).astype(np.uint8))
        elif k == "gray16.png":
            write_png(p, r.integers(0, 65536, (21, 34)).astype(np.uint16), bits=16)
        elif k == "rgb16.png":
            write_png(p, r.integers(0, 65536, (17, 29, 3)).astype(np.uint16), bits=16)
        elif k == "rgba16.png":
            write_png(p, r.integers(0, 65536, (13, 11, 4)).astype(np.uint16), bits=16)
        elif k == "interlaced.png":
            write_png(p, picture(45, 38, 3, 4), interlace=True)
        elif k == "gray1bit.png":
            Image.fromarray(picture(19, 27, 1, 5) > 128).save(p)
        elif k == "rgb.jpg":
            Image.fromarray(picture(120, 161, 3, 6)).save(p, quality=90)
        elif k == "gray.jpg":
            Image.fromarray(picture(99, 70, 1, 7)).save(p, quality=90)
        elif k == "progressive.jpg":
            Image.fromarray(picture(130, 97, 3, 8)).save(p, quality=85, progressive=True)
        elif k == "cmyk.jpg":
            Image.fromarray(picture(64, 48, 3, 9)).convert("CMYK").save(p, quality=95)
        elif k == "odd.jpg":
            Image.fromarray(picture(17, 300, 3, 10)).save(p, quality=80, subsampling=2)
        paths.append(p)
    return paths


def write_collection(out, classes=6, scale=1.0, seed=0):
    """The folder and list layouts of one collection; returns {split: [(relative path, label)]}."""
    r = np.random.default_rng(seed)
    # Pareto-distributed class sizes, largest first (a long tail), at least 4 training images each
    sizes = np.maximum(4, (40 * scale / np.arange(1, classes + 1) ** 1.1).astype(int))
    per_split = {"train": sizes, "val": np.full(classes, 2), "test": np.full(classes, 3)}
    names = [f"n{k:02d}_{'abcdefghijklmnopqrstuvwxyz'[k % 26]}" for k in range(classes)]
    colours = r.integers(30, 256, (classes, 3))
    lists = {}
    for split, counts in per_split.items():
        rows = []
        for k, n in enumerate(counts):
            d = os.path.join(out, "folder", split, names[k])
            os.makedirs(d, exist_ok=True)
            for i in range(n):
                h, w = int(r.integers(17, 481)), int(r.integers(17, 641))
                if i == 0 and k == 0 and split == "train":
                    h, w = 17, 300
                gray = r.random() < 0.2
                img = picture(h, w, 1 if gray else 3, int(r.integers(1 << 30)), colours[k], 2 + 2 * k)
                kind = r.random()
                if kind < 0.6:
                    name = f"{i:03d}.jpg" if r.random() < 0.7 else f"{i:03d}.JPEG"
                    Image.fromarray(img).save(os.path.join(d, name), quality=90, progressive=bool(r.random() < 0.2))
                elif kind < 0.75:
                    name = f"{i:03d}.png"
                    Image.fromarray(img).convert("P", palette=Image.ADAPTIVE, colors=64).save(os.path.join(d, name))
                elif kind < 0.85 and img.ndim == 3:
                    name = f"{i:03d}.png"
                    write_png(os.path.join(d, name), img.astype(np.uint16) * 257, bits=16, interlace=bool(r.random() < 0.5))
                else:
                    name = f"{i:03d}.png"
                    Image.fromarray(img).save(os.path.join(d, name))
                rows.append((f"{split}/{names[k]}/{name}", k))
        # a file that is not an image: skipped by the folder layout, counted by `tailor data`
        with open(os.path.join(out, "folder", split, names[0], "notes.txt"), "w") as f:
            f.write("not an image\n")
        lists[split] = rows
    os.makedirs(os.path.join(out, "list"), exist_ok=True)
    for split, rows in lists.items():
        with open(os.path.join(out, "list", f"{split}.txt"), "w") as f:
            for p, k in rows:
                f.write(f"{p} {k}\n")
    return lists


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "kinds":
        write_kinds(args[1])
    elif len(args) >= 2 and args[0] == "collection":
        opts = dict(zip(args[2::2], args[3::2]))
        write_collection(args[1], int(opts.get("--classes", 6)), float(opts.get("--scale", 1)), int(opts.get("--seed", 0)))
    else:
        sys.exit(__doc__)
