#!/usr/bin/env bash
# Balanced test accuracy of each margin head on Fashion-MNIST --lt exp:100 (cnn), tailor against a
# PyTorch run of the same recipe (bench/margin_torch.py: the tailor_torch twin of the model and head,
# Adam lr 1e-3 constant, batch 128, no augmentation). Heads whose training needs tailor's hooks
# (uniformface, adaptiveface, uncertainty) run on the tailor side only. SEEDS seeds each (default 0).
# Prints one Markdown row per head. Usage: bench/results_margin.sh OUTDIR [EPOCHS] [SEEDS...]
set -eu
cd "$(dirname "$0")/.."
out=$1; epochs=${2:-6}; shift 2 || true
seeds=${*:-0}
tailor=${TAILOR:-build/tailor}
mkdir -p "$out"
heads="linear cosface:s=30,m=0.35 arcface:s=30,m=0.5 combined:s=30,m1=1,m2=0.3,m3=0.2 lsoftmax:m=4 sphereface:m=4 uniformface adaptiveface uncertainty"
for h in $heads; do
    accs="" taccs=""
    for s in $seeds; do
        dir="$out/${h%%:*}-s$s"
        cmd="$tailor train --data fashion-mnist --lt exp:100 --model cnn --head $h --epochs $epochs --batch 128 --optim adam:lr=1e-3,wd=0 --schedule constant --augment none --threads 1 --seed $s --quiet --out $dir"
        if [ ! -e "$dir/report.json" ]; then echo "$cmd" >>"$out/commands.txt"; $cmd >/dev/null 2>&1 || true; fi
        [ -e "$dir/report.json" ] && accs="$accs $(/usr/bin/python3 -c "import json; print(json.load(open('$dir/report.json'))['balanced_accuracy'])")"
        case $h in uniformface*|adaptiveface*|uncertainty*) continue ;; esac
        t="$out/${h%%:*}-s$s.torch"
        tcmd="/usr/bin/python3 bench/margin_torch.py $h 100 $epochs $s 1e-3 1"
        if [ ! -s "$t" ]; then echo "$tcmd" >>"$out/commands.txt"; PYTHONPATH=python $tcmd >"$t" 2>/dev/null || rm -f "$t"; fi
        [ -s "$t" ] && taccs="$taccs $(sed 's/.*=//' "$t")"
    done
    /usr/bin/python3 - "$h" "$accs" "$taccs" <<'PY'
import statistics, sys
def ms(s):
    v = [100 * float(x) for x in s.split()]
    if not v: return "not run"
    return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f} (1 seed)"
print(f"| `{sys.argv[1]}` | {ms(sys.argv[2])} | {ms(sys.argv[3])} |")
PY
done
