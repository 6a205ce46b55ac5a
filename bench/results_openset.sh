#!/usr/bin/env bash
# Open-set recognition on Fashion-MNIST (issue 8): classes 7, 8, 9 held out as unknown, --lt exp:100 on
# the 7 known classes, --val 100 for the threshold; the cnn with the softmax (linear head, maximum
# softmax probability), gcpl and rpl heads, 3 seeds, next to the PyTorch run of the same recipe for rpl
# (bench/torch_openset.py). Prints one Markdown row per method: mean ± std (sample std over the seeds
# that finished) of closed-set balanced accuracy, AUROC, AUPR-In and AUPR-Out; the exact commands go to
# OUTDIR/commands.txt. Runs go seed by seed, so a cut-short bench still has whole seeds.
# Usage: bench/results_openset.sh OUTDIR [EPOCHS | summary]   (run `make` first; `summary` only prints the
# table of the runs already in OUTDIR)
set -eu
cd "$(dirname "$0")/.."
out=$1; epochs=${2:-12}
mkdir -p "$out"
[ "$epochs" = summary ] || {
common="--data fashion-mnist --open 7,8,9 --lt exp:100 --val 100 --model cnn --epochs $epochs --batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine --threads 2 --quiet"
for s in 0 1 2; do
    for h in linear gcpl rpl; do
        dir="$out/$h-s$s"
        [ -e "$dir" ] && continue
        cmd="build/tailor train $common --head $h --seed $s --out $dir"
        echo "$cmd" >>"$out/commands.txt"
        $cmd >/dev/null
    done
    f="$out/torch-rpl-s$s.json"
    if [ ! -e "$f" ]; then
        cmd="PYTHONPATH=python /usr/bin/python3 bench/torch_openset.py $s $epochs $f rpl"
        echo "$cmd" >>"$out/commands.txt"
        PYTHONPATH=python /usr/bin/python3 bench/torch_openset.py "$s" "$epochs" "$f" rpl >/dev/null
    fi
done
}
/usr/bin/python3 - "$out" <<'PY'
import glob, json, statistics, sys
out = sys.argv[1]
def row(name, rs):
    def ms(k):
        v = [r[k] * 100 for r in rs if r.get(k) is not None]
        if not v: return "n/a"
        return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"
    print(f"| {name} | {len(rs)} | {ms('balanced_accuracy')} | {ms('auroc')} | {ms('aupr_in')} | {ms('aupr_out')} |")
print("| method | seeds | balanced accuracy (%) | AUROC (%) | AUPR-In (%) | AUPR-Out (%) |")
print("|:--|--:|--:|--:|--:|--:|")
for h, label in (("linear", "softmax (max probability), tailor"), ("gcpl", "GCPL, tailor"), ("rpl", "RPL, tailor")):
    rs = []
    for f in sorted(glob.glob(f"{out}/{h}-s*/report.json")):
        r = json.load(open(f))
        rs.append(dict(balanced_accuracy=r["balanced_accuracy"], **{k: r["open_set"][k] for k in ("auroc", "aupr_in", "aupr_out")}))
    row(label, rs)
row("RPL, PyTorch", [json.load(open(f)) for f in sorted(glob.glob(f"{out}/torch-rpl-s*.json"))])
PY
