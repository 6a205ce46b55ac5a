#!/usr/bin/env bash
# The ImageNet ResNets against torchvision's modules in PyTorch, side by side in one run: resnet18 on
# 3x112x112 and 3x224x224, resnet50 on 3x224x224, batch 32, at 1 and 2 threads; training steps and
# evaluation-mode forwards (inference), images/s (median of 5 rounds), their ratio, peak memory.
# Usage: bench/resnet_speed.sh [STEPS [BATCH]]   (run `make` first)
set -eu
cd "$(dirname "$0")/.."
STEPS=${1:-3}
B=${2:-32}
export PYTHONPATH=$PWD/python
printf '| model | input | mode | threads | tailor img/s | PyTorch img/s | ratio | tailor peak MB | PyTorch peak MB | memory ratio |\n'
printf '|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n'
for run in "resnet18 112" "resnet18 224" "resnet50 224"; do
    set -- $run
    for mode in train eval; do
        for t in 1 2; do
            a=$(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t build/bench/bench_train $1 "$B" "$STEPS" $t $2 $mode)
            b=$(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 bench/bench_train.py $1 "$B" "$STEPS" $t $2 $mode)
            ai=${a#images_per_second=}; ai=${ai%% *}; am=${a#*peak_rss_mb=}
            bi=${b#images_per_second=}; bi=${bi%% *}; bm=${b#*peak_rss_mb=}
            awk -v A="$1" -v S="$2" -v M=$mode -v T=$t -v ai="$ai" -v bi="$bi" -v am="$am" -v bm="$bm" \
                'BEGIN { printf "| %s | 3x%dx%d | %s | %d | %.1f | %.1f | %.2fx | %.0f | %.0f | %.2f |\n", A, S, S, M, T, ai, bi, ai / bi, am, bm, am / bm }'
        done
    done
done
