#!/usr/bin/env bash
# Open-set recognition on Fashion-MNIST (issue 8): classes 7, 8, 9 held out as unknown, --lt exp:100 on
# the 7 known classes, --val 100 for the threshold; the cnn with the softmax (linear head, maximum
# softmax probability), gcpl and rpl heads, 3 seeds, next to the PyTorch run of the same recipe for rpl
# (bench/torch_openset.py). Prints one Markdown row per method: mean ± std (sample std over the seeds
# that finished) of closed-set balanced accuracy, AUROC, AUPR-In and AUPR-Out; the exact commands go to
# OUTDIR/commands.txt. Runs go seed by seed, so a cut-short bench still has whole seeds.
# Usage: bench/results_openset.sh OUTDIR [EPOCHS | summary]   (run `make` first; `summary` only prints the
# table of the runs already in OUTDIR)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1; epochs=${2:-12}
mkdir -p "$out"
[ "$epochs" = summary ] || {
common="--data fashion-mnist --open 7,8,9 --lt exp:100 --val 100 --model cnn --epochs $epochs $SGD --threads 2 --quiet"
for s in 0 1 2; do
    for h in linear gcpl rpl; do
        bench_run "$out/$h-s$s" "build/tailor train $common --head $h --seed $s --out $out/$h-s$s"
    done
    f="$out/torch-rpl-s$s.json"
    if [ ! -e "$f" ]; then
        cmd="PYTHONPATH=python /usr/bin/python3 bench/torch_openset.py $s $epochs $f rpl"
        echo "$cmd" >>"$out/commands.txt"
        PYTHONPATH=python /usr/bin/python3 bench/torch_openset.py "$s" "$epochs" "$f" rpl >/dev/null
    fi
done
}
bench_py "$out" <<'PY'
import glob, sys
from table import cells, line, load, reports
out = sys.argv[1]
keys = ["balanced_accuracy", "auroc", "aupr_in", "aupr_out"]
print("| method | seeds | balanced accuracy (%) | AUROC (%) | AUPR-In (%) | AUPR-Out (%) |")
print("|:--|--:|--:|--:|--:|--:|")
for h, label in (("linear", "softmax (max probability), tailor"), ("gcpl", "GCPL, tailor"), ("rpl", "RPL, tailor")):
    rs = [dict(r["open_set"], balanced_accuracy=r["balanced_accuracy"]) for r in reports(f"{out}/{h}-s*")]
    print(line(label, len(rs), cells(rs, keys, "n/a")))
rs = [load(f) for f in sorted(glob.glob(f"{out}/torch-rpl-s*.json"))]
print(line("RPL, PyTorch", len(rs), cells(rs, keys, "n/a")))
PY
