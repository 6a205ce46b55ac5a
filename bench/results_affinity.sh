#!/usr/bin/env bash
# The Affinity-loss experiment (methods.md §6) on step-imbalanced Fashion-MNIST: --lt step:R:even for
# R in 100 10 1 50 20 5 (that order, so that a cut-short run still has whole rows), the cnn model,
# softmax (linear head + CE) vs affinity with 1 centre vs affinity with 5 centres, 3 seeds each; macro
# F1 on the test set. The seed article's recipe (Adam 1e-3, no weight decay, no augmentation, lr ÷5
# at half-way) shortened to EPOCHS epochs; σ = 128 = D (σ must be of the order of the squared
# feature distances, ≈ D for batch-normalised D-dim features; the article's σ = 10 was for its
# small MNIST features), λ = 0.75.
# Prints one Markdown row per R with mean ± std (sample std over the seeds that finished).
# Usage: bench/results_affinity.sh OUTDIR [EPOCHS] [JOBS]   (run `make` first; TAILOR=path overrides build/tailor)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1; epochs=${2:-6}; jobs=${3:-1}
tailor=${TAILOR:-build/tailor}
mkdir -p "$out"
half=$(( (epochs + 1) / 2 ))
common="--data fashion-mnist --model cnn --epochs $epochs --batch 128 --optim adam:lr=1e-3,wd=0 --schedule step:milestones=$half,gamma=0.2 --augment none --threads 1 --quiet"
declare -A head=([softmax]=linear [affinity1]=affinity:sigma=128,lambda=0.75,centres=1 [affinity5]=affinity:sigma=128,lambda=0.75,centres=5)
for r in 100 10 1 50 20 5; do
    for s in 0 1 2; do
        for m in softmax affinity1 affinity5; do
            while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
            dir="$out/$m-step$r-s$s"
            cmd="$tailor train $common --lt step:$r:even --head ${head[$m]} --seed $s --out $dir"
            { bench_run "$dir" "$cmd" 2>/dev/null || echo "failed: $cmd" >&2; } &
        done
    done
done
wait
bench_py "$out" <<'PY'
import sys
from table import cell, reports
out = sys.argv[1]
def f1(m, r):
    return cell([x["macro_f1"] for x in reports(f"{out}/{m}-step{r}-s[012]")], "not run", " (1 seed)", 3)
print("| R | softmax | affinity, 1 centre | affinity, 5 centres |\n|---|---|---|---|")
for r in (1, 5, 10, 20, 50, 100):
    print(f"| {r} | {f1('softmax', r)} | {f1('affinity1', r)} | {f1('affinity5', r)} |")
PY
