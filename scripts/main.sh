#!/usr/bin/env bash
# The main job: install what is missing, build, then train the seed CNN on long-tailed Fashion-MNIST
# (imbalance factor 100) twice with one recipe: plain cross-entropy, then balanced softmax (the
# training-time form of logit adjustment, which lifted balanced accuracy by 4 points post hoc in
# docs/results.md, "Re-balancing (issue 4)", and needs no change of head). Each run prints its
# report (per-class accuracy against training count, many/medium/few, balanced accuracy); at the end
# `tailor compare` prints both side by side. The run folders (model, report.json, report.md, plots)
# are runs/ce and runs/balanced-softmax, the names README.md's "Using it" commands use; a run folder
# left by an earlier main job is kept as runs/NAME-<its date>, and one interrupted by Ctrl-C is
# continued. Once installed and built it takes 65 s to 2 min 14 s on an idle 2-core machine (3 min 38 s
# when the machine was shared; docs/benchmarks.md, "The main job"); a fresh machine adds the
# package installation and a 15 s build. On a terminal, training shows its progress within each epoch.
# For tests/cli/test_readme.sh: TL_NO_SETUP=1 uses the existing build as it is, and TL_MAIN_ARGS
# adds `tailor train` options after the recipe's (a short run: "--epochs 1 --data idx:DIR").
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${TL_NO_SETUP:-0}" = 1 ] || scripts/setup.sh
mkdir -p runs
recipe=(--data fashion-mnist --lt exp:100 --model cnn --epochs 10 --batch 128
        --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine --seed 0 --threads 2)
read -r -a extra <<<"${TL_MAIN_ARGS:-}"

# train NAME OPTIONS...: trains runs/NAME (or continues it after Ctrl-C).
train() {
    local out=runs/$1 old
    shift
    if [ -d "$out.partial" ]; then
        echo "continuing the interrupted $out"
        build/tailor train --resume "$out"
        return
    fi
    if [ -e "$out" ] || [ -L "$out" ]; then
        old=$out-$(date -r "$out" +%Y%m%d-%H%M%S)
        mv -n "$out" "$old"
        echo "the earlier $out is kept as $old"
    fi
    build/tailor train "$@" "${extra[@]}" --out "$out"
}

build/tailor data --data fashion-mnist --lt exp:100
echo
train ce "${recipe[@]}" --loss ce
echo
train balanced-softmax "${recipe[@]}" --loss balanced-softmax
echo
build/tailor compare runs/ce runs/balanced-softmax --labels "CE,balanced softmax"
