#!/usr/bin/env bash
# The main job: install what is missing, build, then train the seed CNN on long-tailed Fashion-MNIST
# (imbalance factor 100) twice with one recipe: plain cross-entropy, then balanced softmax (the
# re-balanced loss that helped most in docs/results.md, "Re-balancing (issue 4)"). Each run prints its
# report (per-class accuracy against training count, many/medium/few, balanced accuracy); at the end
# `tailor compare` prints both side by side. The run folders (model, report.json, report.md, plots)
# are under runs/. Takes about 4 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p runs
stamp=$(date +%Y%m%d-%H%M%S)
ce="runs/fmnist-lt100-ce-$stamp"
bs="runs/fmnist-lt100-balanced-softmax-$stamp"
recipe=(--data fashion-mnist --lt exp:100 --model cnn --epochs 10 --batch 128
        --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine --seed 0 --threads 2)
build/tailor data --data fashion-mnist --lt exp:100
echo
build/tailor train "${recipe[@]}" --loss ce --out "$ce"
echo
build/tailor train "${recipe[@]}" --loss balanced-softmax --out "$bs"
echo
build/tailor compare "$ce" "$bs" --labels "CE,balanced softmax"
