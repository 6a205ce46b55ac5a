#!/usr/bin/env bash
# Accuracy of plain cross-entropy with the cnn on long-tailed Fashion-MNIST, 3 seeds per view:
# prints one Markdown row per view with mean ± std (sample std over seeds) of balanced accuracy,
# macro F1 and many/medium/few, plus the exact command of each run.
# Usage: bench/results_ce.sh OUTDIR [EPOCHS] [VIEWS...]   (run `make` first)
set -eu
cd "$(dirname "$0")/.."
out=$1; epochs=${2:-12}; shift 2 || true
views=${*:-exp:100 exp:10}
mkdir -p "$out"
for v in $views; do
    for s in 0 1 2; do
        dir="$out/ce-${v//:/}-s$s"
        [ -e "$dir" ] && continue
        cmd="build/tailor train --data fashion-mnist --lt $v --model cnn --loss ce --epochs $epochs --batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine --seed $s --threads 2 --quiet --out $dir"
        echo "$cmd" >>"$out/commands.txt"
        $cmd >/dev/null
    done
    /usr/bin/python3 - "$out" "${v//:/}" "$v" <<'PY'
import json, statistics, sys
out, tag, view = sys.argv[1:]
rs = [json.load(open(f"{out}/ce-{tag}-s{s}/report.json")) for s in range(3)]
def ms(k):
    v = [r[k] * 100 for r in rs if r.get(k) is not None]
    return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else "n/a"
print(f"| {view} | {ms('balanced_accuracy')} | {ms('macro_f1')} | {ms('many')} | {ms('medium')} | {ms('few')} | {ms('accuracy')} |")
PY
done
