"""Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/ (a few tiny valid and
invalid inputs each, in the input layout the target's header comment describes). Run it with
/usr/bin/python3 (it needs PIL) after changing a target's input layout."""
import gzip, io, json, os, struct, sys
from PIL import Image

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def put(target, name, data):
    d = os.path.join(here, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def split(a, b, mode):
    """<mode> <split u16 little-endian> a b (the fuzz_split layout)."""
    return bytes([mode]) + struct.pack("<H", len(a)) + a + b

# IDX: 3 images of 2x3 pixels and their labels.
imgs = struct.pack(">IIII", 0x803, 3, 2, 3) + bytes(range(18))
labs = struct.pack(">II", 0x801, 3) + bytes([0, 2, 1])
put("idx", "images-labels", split(imgs, labs, 1))
put("idx", "gzip-images-labels", split(imgs, labs, 3))
put("idx", "images-only", split(imgs, b"", 0))
put("idx", "gzip-file", split(gzip.compress(imgs), labs, 1))
put("idx", "huge-count", split(struct.pack(">IIII", 0x803, 1 << 31, 28, 28), b"", 0))
put("idx", "truncated", split(imgs[:20], labs[:9], 1))
put("idx", "wrong-magic", split(labs, imgs, 1))

# CIFAR: records of <label> (or <coarse><fine>) then 3072 pixel bytes.
px = bytes((i * 7) % 256 for i in range(3072))
put("cifar", "cifar10-two", bytes([0]) + bytes([3]) + px + bytes([9]) + px)
put("cifar", "cifar100-one", bytes([1]) + bytes([4, 77]) + px)
put("cifar", "cifar10-two-files", bytes([2]) + bytes([5]) + px)
put("cifar", "bad-label", bytes([0]) + bytes([10]) + px)
put("cifar", "truncated", bytes([0]) + bytes([1]) + px[:100])

# CSV: <mode> <split> train test; mode bit 0 = test file, bits 1..3 = label column choice.
train = b"a,b,label\n1,2,0\n3.5,-4,1\n\n5e3, 6 ,2\n"
test = b"a,b,label\n1,1,1\n"
put("csv", "header-numeric", split(train, test, 1))
put("csv", "no-test", split(train, b"", 0))
put("csv", "label-by-name", split(train, test, 1 | 3 << 1))
put("csv", "text-labels", split(b"x,y,kind\n1,2,cat\n2,3,dog\n\"4\",5,\"cat\"\r\n", b"x,y,kind\n0,0,bird\n", 1))
put("csv", "label-first", split(b"0,1.5,2\n1,2.5,3\n", b"", 1 << 1))
put("csv", "bad-cell", split(b"a,b,label\n1,x,0\n", b"", 0))
put("csv", "ragged", split(b"1,2,0\n1,2\n", b"", 0))

# Images: <0> file, or <1> <split> train-list test-list against a.png, b.png (4x4 gray), c.png (4x4 RGB).
def img_bytes(mode, size, fmt, **kw):
    im = Image.new(mode, size)
    im.putdata([((i * 40) % 256) if mode in ("L", "P") else tuple((i * k) % 256 for k in (40, 70, 110, 150)[:len(mode)]) for i in range(size[0] * size[1])])
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()
put("image", "gray.png", b"\0" + img_bytes("L", (4, 3), "PNG"))
put("image", "rgba.png", b"\0" + img_bytes("RGBA", (3, 2), "PNG"))
put("image", "palette.png", b"\0" + img_bytes("P", (5, 2), "PNG"))
put("image", "gray.jpg", b"\0" + img_bytes("L", (8, 8), "JPEG"))
put("image", "rgb.jpg", b"\0" + img_bytes("RGB", (9, 7), "JPEG"))
put("image", "progressive.jpg", b"\0" + img_bytes("RGB", (16, 8), "JPEG", progressive=True))
put("image", "truncated.png", b"\0" + img_bytes("L", (4, 3), "PNG")[:40])
put("image", "list-gray", split(b"a.png 0\nb.png 1\n  a.png   2  \n", b"b.png 1\n", 1))
put("image", "list-rgb", split(b"c.png 0\r\nc.png 3\n", b"c.png 1\n", 1))
put("image", "list-mixed", split(b"a.png 0\nc.png 1\n", b"a.png 0\n", 1))
put("image", "list-bad", split(b"a.png\nmissing.png 1\n", b"a.png x\n", 1))

# safetensors: <u64 header length> <JSON header> <data>.
def st(tensors, meta=None, pad=True):
    hdr, data, off = {}, b"", 0
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, dtype, shape, raw in tensors:
        hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data
w = struct.pack("<6f", *range(6))
model_meta = {"format": "tailor-model", "arch": "mlp", "input": "4,1,1", "num_classes": "3", "feat_dim": "8",
              "hidden": "16/8", "dropout": "0", "norm_mean": "0/0.5/1/2", "norm_std": "1/2/3/4"}
put("safetensors", "two-tensors", st([("w", "F32", [2, 3], w), ("n", "I64", [], struct.pack("<q", 7)), ("i", "I32", [2], struct.pack("<2i", 1, 2))]))
put("safetensors", "model-meta", st([("fc.weight", "F32", [3, 2], w)], model_meta))
put("safetensors", "unpadded", st([("w", "F32", [6], w)], {"k": "v"}, pad=False))
put("safetensors", "empty", st([]))
put("safetensors", "header-too-long", struct.pack("<Q", 1 << 40) + b"{}")
put("safetensors", "bad-offsets", st([("w", "F32", [2, 3], w)])[:-4])

# JSON configs.
put("json", "config", json.dumps({"data": "fashion-mnist", "epochs": 3, "lr": "0.1"}, indent=2).encode())
put("json", "nested", b'{"a": [1, -2.5e-3, true, false, null, {"b": []}], "c": {}}')
put("json", "escapes", b'["\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/", "\\u0041"]')
put("json", "unknown-key", b'{"nope": 1}')
put("json", "truncated", b'{"data": "fash')
put("json", "deep", b"[" * 70 + b"]" * 70)

# Specs: <mode> <text>; mode % 6 = 0 generic (--loss getters), 1 --optim, 2 --schedule, 3 --lt, 4 --augment,
# 5 a transform pipeline.
for i, (mode, text) in enumerate([(0, "focal:gamma=2,weights=inverse,drw=1,k=3,milestones=1/2/3,path=x"),
                                  (0, "ce"), (0, "ldam:gamma=abc"), (1, "sgd:lr=0.1,momentum=0.9,wd=5e-4,nesterov=1"),
                                  (1, "adamw:lr=1e-3,beta1=0.9,beta2=0.999,eps=1e-8"), (2, "step:milestones=160/180,gamma=0.01"),
                                  (2, "cosine:min=0.001"), (3, "exp:100"), (3, "step:10:1/3/5"), (3, "step:2:even"),
                                  (4, "crop:pad=4,flip"), (4, "none"),
                                  (5, "random-resized-crop:size=224,scale=0.08/1,flip,color-jitter:brightness=0.4,contrast=0.4"),
                                  (5, "resize:size=256,center-crop:size=224")]):
    put("spec", "seed-%02d" % i, bytes([mode]) + text.encode())
