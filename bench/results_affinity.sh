#!/usr/bin/env bash
# The Affinity-loss experiment of seed 001 (issue 5, docs/results.md; docs/methods.md §6) on step-imbalanced
# Fashion-MNIST: --lt step:R:even for R in 1 5 10 20 50 100, the cnn model, softmax (linear head + CE)
# vs affinity with 1 centre vs affinity with 5 centres, seeds 0 1 2; macro F1 on the test set.
# The article's recipe (Adam 1e-3, no weight decay, no augmentation, batch 128, lr ÷5 at 50% and 80% of
# training) shortened to EPOCHS epochs; σ = 128 = D (σ must be of the order of the squared feature
# distances, ≈ D for batch-normalised D-dim features; the article's σ = 10 was for its small MNIST
# features), λ = 0.75.
#   bench/results_affinity.sh OUT tailor   train the runs that are missing, JOBS at a time, R in the
#                                          order 100 10 1 50 20 5 so that a cut-short run has whole rows
#   bench/results_affinity.sh OUT table    print the Markdown table (mean ± sample std over the seeds found)
# Env: EPOCHS (6), THREADS (per run, 1), JOBS (2), SEEDS ("0 1 2"). Run `make` first.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
EPOCHS=${EPOCHS:-6} THREADS=${THREADS:-1} JOBS=${JOBS:-2}
bench_modes "tailor|table" "$@"
METHODS="softmax affinity1 affinity5"
# the article's milestones, 50 and 80 of 100 epochs, rounded half up
milestones="$(( (EPOCHS + 1) / 2 ))/$(( (8 * EPOCHS + 5) / 10 ))"
declare -A head=([softmax]=linear [affinity1]=affinity:sigma=128,lambda=0.75,centres=1 [affinity5]=affinity:sigma=128,lambda=0.75,centres=5)
recipe="--data fashion-mnist --model cnn --epochs $EPOCHS --batch 128 --optim adam:lr=1e-3,wd=0 --schedule step:milestones=$milestones,gamma=0.2 --augment none --threads $THREADS --quiet"
case $mode in
tailor)
    for r in 100 10 1 50 20 5; do
        for s in $SEEDS; do
            for m in $METHODS; do
                while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
                dir="$out/$m-step$r-s$s"
                cmd="build/tailor train $recipe --lt step:$r:even --head ${head[$m]} --seed $s --out $dir"
                { bench_run "$dir" "$cmd" || echo "failed: $cmd" >&2; } &
            done
        done
    done
    wait ;;
table)
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
    ;;
esac
