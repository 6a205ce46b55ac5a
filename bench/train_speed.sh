#!/usr/bin/env bash
# Training speed of tailor against PyTorch, side by side in one run: cnn on 1x28x28 and resnet32 on
# 3x32x32, batch 128, at 1 and 2 threads; images/s (median of 5 rounds), their ratio, peak memory.
# Usage: bench/train_speed.sh [STEPS]   (run `make` first)
set -eu
cd "$(dirname "$0")/.."
STEPS=${1:-10}
export PYTHONPATH=$PWD/python
printf '| model | threads | tailor img/s | PyTorch img/s | ratio | tailor peak MB | PyTorch peak MB | memory ratio |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
for arch in cnn resnet32; do
    for t in 1 2; do
        a=$(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t build/bench/bench_train $arch 128 "$STEPS" $t)
        b=$(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 bench/bench_train.py $arch 128 "$STEPS" $t)
        ai=${a#images_per_second=}; ai=${ai%% *}; am=${a#*peak_rss_mb=}
        bi=${b#images_per_second=}; bi=${bi%% *}; bm=${b#*peak_rss_mb=}
        awk -v A="$arch" -v T=$t -v ai="$ai" -v bi="$bi" -v am="$am" -v bm="$bm" \
            'BEGIN { printf "| %s | %d | %.0f | %.0f | %.2fx | %.0f | %.0f | %.2f |\n", A, T, ai, bi, ai / bi, am, bm, am / bm }'
    done
done
