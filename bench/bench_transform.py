"""Per-image transform times, tailor (bench/bench_transform.c) against torchvision 0.14 on a PIL image,
on one 500 x 375 RGB photo-like image, one thread each. Prints a markdown table: median and fastest
microseconds per image and the speed-ups torchvision / tailor of both. The machine may be shared, and
other load only slows a run down, so the two alternate for ROUNDS rounds and each figure is the lowest
of its rounds' (the fastest call is the figure least disturbed by a loaded machine).
Usage: /usr/bin/python3 bench/bench_transform.py [REPS [ROUNDS]]   (env TL_BUILD, default build)"""
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image

H, W = 375, 500


def torchvision_pipes():
    """The pipelines of bench_transform.c, as torchvision Compose objects."""
    jitter = T.ColorJitter(0.4, 0.4, 0.4)
    return {
        "random-resized-crop:size=224,flip,color-jitter:brightness=0.4,contrast=0.4,saturation=0.4":
            T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), jitter]),
        "random-resized-crop:size=224,flip": T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip()]),
        "resize:size=256,center-crop:size=224": T.Compose([T.Resize(256), T.CenterCrop(224)]),
        "color-jitter:brightness=0.4,contrast=0.4,saturation=0.4": jitter,
    }


def image():
    """The same kind of image as the C side: colour gradients plus noise."""
    y, x = np.mgrid[0:H, 0:W]
    rng = np.random.default_rng(1)
    ch = [(x * (k + 1) + y * (3 - k)) * 255 // (W * (k + 1) + H * (3 - k)) for k in range(3)]
    a = np.stack(ch, -1) + rng.integers(-15, 16, (H, W, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


def torchvision_times(reps):
    torch.set_num_threads(1)
    torch.manual_seed(2)
    img, out = image(), {}
    for spec, tf in torchvision_pipes().items():
        ts = []
        for i in range(-10, reps):
            t0 = time.perf_counter()
            tf(img)
            if i >= 0:
                ts.append(time.perf_counter() - t0)
        ts.sort()
        out[spec] = (1e6 * ts[len(ts) // 2], 1e6 * ts[0])
    return out


def tailor_times(reps):
    build = os.environ.get("TL_BUILD", "build")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([os.path.join(build, "bench", "bench_transform"), str(reps)], env=env, check=True,
                       capture_output=True, text=True)
    return {l.split("\t")[0]: (float(l.split("\t")[1]), float(l.split("\t")[2])) for l in r.stdout.strip().split("\n")}


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    tl, tv = {}, {}
    for _ in range(rounds):
        for acc, new in ((tl, tailor_times(reps)), (tv, torchvision_times(reps))):
            for k, v in new.items():
                acc[k] = tuple(min(a, b) for a, b in zip(acc.get(k, v), v))
    print("| pipeline (500x375 RGB) | tailor us median | torchvision us median | speed-up | tailor us min | torchvision us min | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for spec in torchvision_pipes():
        (a, a0), (b, b0) = tl[spec], tv[spec]
        print(f"| `{spec}` | {a:.0f} | {b:.0f} | {b / a:.2f} | {a0:.0f} | {b0:.0f} | {b0 / a0:.2f} |")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
