#!/usr/bin/env bash
# Accuracy of plain cross-entropy with the cnn on long-tailed Fashion-MNIST, 3 seeds per view:
# prints one Markdown row per view with mean ± std (sample std over seeds) of balanced accuracy,
# macro F1 and many/medium/few, plus the exact command of each run.
# Usage: bench/results_ce.sh OUTDIR [EPOCHS] [VIEWS...]   (run `make` first)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1; epochs=${2:-12}; shift 2 || true
views=${*:-exp:100 exp:10}
mkdir -p "$out"
for v in $views; do
    for s in 0 1 2; do
        dir="$out/ce-${v//:/}-s$s"
        bench_run "$dir" "build/tailor train --data fashion-mnist --lt $v --model cnn --loss ce --epochs $epochs $SGD --seed $s --threads 2 --quiet --out $dir"
    done
    bench_py "$out" "${v//:/}" "$v" <<'PY'
import sys
from table import cells, line, reports
out, tag, view = sys.argv[1:]
keys = ["balanced_accuracy", "macro_f1", "many", "medium", "few", "accuracy"]
print(line(view, cells(reports(f"{out}/ce-{tag}-s[012]"), keys, "n/a")))
PY
done
