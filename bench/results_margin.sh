#!/usr/bin/env bash
# Balanced test accuracy of each margin head on Fashion-MNIST --lt exp:100 (cnn), tailor against a
# PyTorch run of the same recipe (bench/margin_torch.py: the tailor_torch twin of the model and head,
# Adam lr 1e-3 constant, batch 128, no augmentation). Heads whose training needs tailor's hooks
# (uniformface, adaptiveface, uncertainty) run on the tailor side only. SEEDS seeds each (default 0).
# Prints one Markdown row per head. Usage: bench/results_margin.sh OUTDIR [EPOCHS] [SEEDS...]
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1; epochs=${2:-6}; shift 2 || true
seeds=${*:-0}
tailor=${TAILOR:-build/tailor}
mkdir -p "$out"
heads="linear cosface:s=30,m=0.35 arcface:s=30,m=0.5 combined:s=30,m1=1,m2=0.3,m3=0.2 lsoftmax:m=4 sphereface:m=4 uniformface adaptiveface uncertainty"
for h in $heads; do
    for s in $seeds; do
        dir="$out/${h%%:*}-s$s"
        bench_run "$dir" "$tailor train --data fashion-mnist --lt exp:100 --model cnn --head $h --epochs $epochs --batch 128 --optim adam:lr=1e-3,wd=0 --schedule constant --augment none --threads 1 --seed $s --quiet --out $dir" 2>/dev/null || true
        case $h in uniformface*|adaptiveface*|uncertainty*) continue ;; esac
        t="$dir.torch"
        tcmd="/usr/bin/python3 bench/margin_torch.py $h 100 $epochs $s 1e-3 1"
        if [ ! -s "$t" ]; then echo "$tcmd" >>"$out/commands.txt"; PYTHONPATH=python $tcmd >"$t" 2>/dev/null || rm -f "$t"; fi
    done
    bench_py "$out/${h%%:*}" "$h" $seeds <<'PY'
import os, sys
from table import cell, reports
run, head, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
ours = [r["balanced_accuracy"] for s in seeds for r in reports(f"{run}-s{s}")]
theirs = [float(open(f"{run}-s{s}.torch").read().rsplit("=", 1)[1]) for s in seeds
          if os.path.exists(f"{run}-s{s}.torch") and os.path.getsize(f"{run}-s{s}.torch")]
print(f"| `{head}` | {cell(ours, 'not run', ' (1 seed)')} | {cell(theirs, 'not run', ' (1 seed)')} |")
PY
done
