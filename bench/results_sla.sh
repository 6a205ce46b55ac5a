#!/usr/bin/env bash
# SLA benchmark (methods.md §11): cnn on Fashion-MNIST --lt exp:100 --val 100 with the recipe of
# bench/results_rebal.sh (12 epochs, batch 128, SGD lr 0.1 momentum 0.9 wd 5e-4, cosine), plain CE
# against SLA (--ssl sla, aggregated inference) and SLA+SD (--ssl sla:sd=1, the distilled head), seeds
# 0 1 2, in tailor and in the PyTorch reference (bench/torch_sla.py, same recipe and data view). Extra
# rows re-evaluate the same models with the other inference: sla-single (--posthoc sla:infer=single)
# and sla-sd-agg (--posthoc sla:infer=agg). Every run that exists is kept, so an interrupted
# benchmark continues where it stopped.
#   bench/results_sla.sh OUT tailor   train the tailor runs that are missing (seed-major order)
#   bench/results_sla.sh OUT torch    run the PyTorch reference runs that are missing
#   bench/results_sla.sh OUT table    print the Markdown table (mean ± sample std over the seeds found)
# Env: EPOCHS (12), THREADS (tailor threads, 2), SEEDS ("0 1 2"). Run `make` first.
set -eu
cd "$(dirname "$0")/.."
out=$1; mode=$2
EPOCHS=${EPOCHS:-12}; THREADS=${THREADS:-2}; SEEDS=${SEEDS:-0 1 2}
mkdir -p "$out"
METHODS="ce sla sla-sd"
args() {
    case $1 in
    ce) echo "--loss ce" ;;
    sla) echo "--ssl sla" ;;
    sla-sd) echo "--ssl sla:sd=1" ;;
    esac
}
# the other inference of a method's model: NAME RULE
extra() {
    case $1 in
    sla) echo "sla-single sla:infer=single" ;;
    sla-sd) echo "sla-sd-agg sla:infer=agg" ;;
    esac
}
case $mode in
tailor)
    for s in $SEEDS; do
        for m in $METHODS; do
            dir="$out/$m-s$s"
            if [ ! -e "$dir" ]; then
                rm -rf "$dir.partial"
                cmd="build/tailor train --data fashion-mnist --lt exp:100 --val 100 --model cnn --epochs $EPOCHS --batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine --seed $s --threads $THREADS --quiet $(args $m) --out $dir"
                echo "$cmd" >>"$out/commands.txt"
                $cmd >/dev/null
            fi
            read -r name rule <<<"$(extra $m)" || true
            if [ -n "${name:-}" ] && [ ! -e "$out/$name-s$s" ]; then
                rm -rf "$out/$name-s$s.partial"
                cmd="build/tailor eval --run $dir --posthoc $rule --threads $THREADS --out $out/$name-s$s"
                echo "$cmd" >>"$out/commands.txt"
                $cmd >/dev/null
            fi
        done
    done ;;
torch)
    for s in $SEEDS; do
        for m in $METHODS; do
            grep -q "\"method\": \"$m\", \"seed\": $s," "$out/torch.jsonl" 2>/dev/null && continue
            echo "/usr/bin/python3 bench/torch_sla.py $out/torch.jsonl $m $s $EPOCHS" >>"$out/commands_torch.txt"
            /usr/bin/python3 bench/torch_sla.py "$out/torch.jsonl" "$m" "$s" "$EPOCHS"
        done
    done ;;
table)
    /usr/bin/python3 - "$out" ce sla sla-single sla-sd sla-sd-agg <<'PY'
import glob, json, os, statistics, sys
out, methods = sys.argv[1], sys.argv[2:]
torch_rows = [json.loads(l) for l in open(f"{out}/torch.jsonl")] if os.path.exists(f"{out}/torch.jsonl") else []
def ms(v):
    v = [x * 100 for x in v if x is not None]
    if not v: return "—"
    return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"
keys = ["accuracy", "balanced_accuracy", "macro_f1", "head", "mid", "tail"]
print("| method | impl | seeds | accuracy | balanced acc | macro F1 | head | mid | tail |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for m in methods:
    ours = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/{m}-s[0-9]*/report.json"))]
    ref = [r for r in torch_rows if r["method"] == m]
    for impl, rs in (("tailor", ours), ("PyTorch", ref)):
        print(f"| {m} | {impl} | {len(rs)} | " + " | ".join(ms([r.get(k) for r in rs]) for k in keys) + " |")
PY
    ;;
*) echo "usage: bench/results_sla.sh OUT tailor|torch|table" >&2; exit 2 ;;
esac
