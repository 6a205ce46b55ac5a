#!/usr/bin/env bash
# The image loader against PyTorch's, side by side in one run (docs/benchmarks.md "Image loading"):
# a folder of N JPEGs of ImageNet's typical size (500x375, quality 90; tests/images.py), read as a
# training epoch reads them (shuffled, random-resized-crop + flip, no cache), at 224 and 64 pixels,
# tailor's loader with W worker threads against a DataLoader with W worker processes; then the peak
# RSS of a whole `tailor train` epoch in streaming mode (--cache-mb 0) for 2,000 and 20,000 images.
# Usage: bench/loader_speed.sh [N=1000] [W=2]
set -eu
cd "$(dirname "$0")/.."
N=${1:-1000} W=${2:-2} PY=${PY:-/usr/bin/python3}
make -s -j"$(nproc)" build/bench/bench_loader build/tailor
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
# make_jpegs DIR N H W: N pictures of H x W in 10 classes (DIR/train/cK/), the first 10 also in DIR/test
make_jpegs() {
    $PY - "$@" <<'PY'
import os, sys
sys.path.insert(0, "tests")
import images
from PIL import Image
root, n, h, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(n):
    k = i % 10
    for split in ("train", "test") if i < 10 else ("train",):
        os.makedirs(f"{root}/{split}/c{k}", exist_ok=True)
        Image.fromarray(images.picture(h, w, 3, i % 500, freq=2 + k)).save(f"{root}/{split}/c{k}/{i:05d}.jpg", quality=90)
PY
}
make_jpegs "$d/jpeg" "$N" 375 500
for size in 224 64; do
    build/bench/bench_loader "$d/jpeg" $size "$W" 3 | tail -n 1
    $PY bench/bench_loader.py "$d/jpeg" $size "$W" 3 | tail -n 1
done
# Peak RSS against the number of images (small images, so that 20,000 are quick to make and train on)
for n in 2000 20000; do
    make_jpegs "$d/small$n" "$n" 48 64
    /usr/bin/time -f "tailor train, $n images, --cache-mb 0: peak RSS %M KB, %e s" \
        build/tailor train --data "folder:$d/small$n" --size 32 --epochs 1 --cache-mb 0 --quiet --out "$d/run$n" >/dev/null
done
