#!/usr/bin/env bash
# Re-balancing benchmark (issue 4, docs/results.md): cnn on Fashion-MNIST --lt exp:100 --val 100, one
# fixed recipe, 9 trained methods + post-hoc logit adjustment of the CE runs, seeds 0 1 2, in tailor and
# in the PyTorch reference (bench/torch_ref.py, same recipe and data view).
#   bench/results_rebal.sh OUT tailor   train the tailor runs that are missing (seed-major order)
#   bench/results_rebal.sh OUT torch    run the PyTorch reference runs that are missing
#   bench/results_rebal.sh OUT table    print the Markdown table (mean ± sample std over the seeds found)
# Env: EPOCHS (12), THREADS (tailor threads, 2), SEEDS ("0 1 2"). Run `make` first.
set -eu
cd "$(dirname "$0")/.."
out=$1; mode=$2
EPOCHS=${EPOCHS:-12}; THREADS=${THREADS:-2}; SEEDS=${SEEDS:-0 1 2}
DRW=$(( (2 * 160 * EPOCHS + 200) / 400 ))   # methods.md §0.6: epoch 160 of 200, rounded half up (10 of 12)
mkdir -p "$out"
METHODS="ce balanced-softmax ldam-drw ce-inverse focal cb-focal class-sampling sqrt-sampling progressive"
args() {
    case $1 in
    ce) echo "--loss ce" ;;
    ce-inverse) echo "--loss ce:weights=inverse" ;;
    focal) echo "--loss focal:gamma=1" ;;
    cb-focal) echo "--loss sigmoid:gamma=1,weights=effective,beta=0.9999" ;;
    ldam-drw) echo "--loss ldam:max_m=0.5,s=30,weights=effective,beta=0.9999,drw=$DRW --head cosine:s=30" ;;
    balanced-softmax) echo "--loss balanced-softmax" ;;
    class-sampling) echo "--loss ce --sampler class" ;;
    sqrt-sampling) echo "--loss ce --sampler sqrt" ;;
    progressive) echo "--loss ce --sampler progressive" ;;
    esac
}
case $mode in
tailor)
    for s in $SEEDS; do
        for m in $METHODS; do
            dir="$out/$m-s$s"
            [ -e "$dir" ] && continue
            rm -rf "$dir.partial"
            cmd="build/tailor train --data fashion-mnist --lt exp:100 --val 100 --model cnn --epochs $EPOCHS --batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine --seed $s --threads $THREADS --quiet $(args $m) --out $dir"
            echo "$cmd" >>"$out/commands.txt"
            $cmd >/dev/null
            if [ $m = ce ]; then
                cmd="build/tailor eval --run $dir --posthoc logit-adjust:tau=1 --out $out/posthoc-la-s$s"
                echo "$cmd" >>"$out/commands.txt"
                $cmd >/dev/null
            fi
        done
    done ;;
torch)
    for s in $SEEDS; do
        for m in $METHODS; do
            grep -q "\"method\": \"$m\", \"seed\": $s," "$out/torch.jsonl" 2>/dev/null && continue
            echo "/usr/bin/python3 bench/torch_ref.py $out/torch.jsonl $m $s $EPOCHS" >>"$out/commands_torch.txt"
            /usr/bin/python3 bench/torch_ref.py "$out/torch.jsonl" "$m" "$s" "$EPOCHS"
        done
    done ;;
table)
    /usr/bin/python3 - "$out" $METHODS <<'PY'
import glob, json, os, statistics, sys
out, methods = sys.argv[1], sys.argv[2:]
methods.insert(1, "posthoc-la")
torch_rows = [json.loads(l) for l in open(f"{out}/torch.jsonl")] if os.path.exists(f"{out}/torch.jsonl") else []
def ms(v):
    v = [x * 100 for x in v if x is not None]
    if not v: return "—"
    return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"
keys = ["balanced_accuracy", "macro_f1", "head", "mid", "tail"]
print("| method | impl | seeds | balanced acc | macro F1 | head | mid | tail |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for m in methods:
    ours = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/{m}-s*/report.json"))]
    ref = [r for r in torch_rows if r["method"] == m]
    for impl, rs in (("tailor", ours), ("PyTorch", ref)):
        print(f"| {m} | {impl} | {len(rs)} | " + " | ".join(ms([r.get(k) for r in rs]) for k in keys) + " |")
PY
    ;;
esac
