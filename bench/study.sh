#!/usr/bin/env bash
# The Decoupling paper's grid (Kang et al., ICLR 2020; issue 6) on one data set: joint training with
# instance, class-balanced, square-root and progressive sampling, each followed by cRT, tau-norm,
# LWS and NCM (tailor retrain), plus the causal head with TDE inference; seeds given in SEEDS.
#   bench/study.sh OUT run      train/retrain whatever is missing, one stage-1 recipe at a time over the
#                               seeds (instance, causal, then the other samplers); an interrupted stage-1
#                               run is continued with tailor train --resume
#   bench/study.sh OUT torch    PyTorch reference of cRT, tau-norm, LWS and NCM (bench/torch_stage2.py) on
#                               every finished stage-1 run not yet in OUT/torch.jsonl, and of the causal
#                               head + TDE (bench/torch_ref.py causal: trained in PyTorch, same recipe)
#   bench/study.sh OUT table    print the Markdown table (mean ± sample std over the seeds found)
# Env: DATA (fashion-mnist), LT (exp:100), VAL (100), MODEL (cnn), EPOCHS (stage 1, 12), SEEDS ("0 1 2"),
#      THREADS (2), SAMPLERS ("instance class sqrt progressive"), CAUSAL (1: also the causal/TDE runs),
#      T (the tailor binary, build/tailor). Stage 1 recipe: SGD lr 0.1 momentum 0.9 wd 5e-4, cosine,
#      batch 128, default augmentation. Stage 2: tailor retrain defaults (docs/methods.md §8, §15.2).
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_modes "run|torch|table" "$@"
DATA=${DATA:-fashion-mnist}; LT=${LT:-exp:100}; VAL=${VAL:-100}; MODEL=${MODEL:-cnn}
SAMPLERS=${SAMPLERS:-instance class sqrt progressive}; CAUSAL=${CAUSAL:-1}; T=${T:-build/tailor}
METHODS="crt tau lws ncm"
stage1() {  # stage1 DIR ARGS...
    bench_run "$1" "$T train --data $DATA --lt $LT --val $VAL --model $MODEL --epochs $EPOCHS $SGD --threads $THREADS --quiet ${*:2} --out $1"
}
case $mode in
run)
    order=""
    for smp in $SAMPLERS; do
        order="$order $smp"
        [ "$smp" = instance ] && [ "$CAUSAL" = 1 ] && order="$order causal"
    done
    for smp in $order; do
        for s in $SEEDS; do
            if [ "$smp" = causal ]; then
                stage1 "$out/causal-s$s" --head causal:heads=2,tau=16,gamma=0.03125,alpha=1 --seed "$s"
                continue
            fi
            j="$out/joint-$smp-s$s"
            stage1 "$j" --sampler "$smp" --seed "$s"
            for m in $METHODS; do
                r="$out/$m-$smp-s$s"
                cmd="$T retrain --run $j --method $m --seed $s --threads $THREADS --quiet --out $r"
                bench_run "$r" "$cmd" || echo "FAILED (exit $?): $cmd" >>"$out/commands.txt"
            done
        done
    done ;;
torch)
    IF=${LT#exp:}
    for j in "$out"/joint-*-s*; do
        case $j in *.partial) continue ;; esac
        name=$(basename "$j"); s=${name##*-s}
        grep -q "\"run\": \"$name\"" "$out/torch.jsonl" 2>/dev/null && continue
        echo "/usr/bin/python3 bench/torch_stage2.py $out/torch.jsonl $j $s $IF $VAL" >>"$out/commands_torch.txt"
        /usr/bin/python3 bench/torch_stage2.py "$out/torch.jsonl" "$j" "$s" "$IF" "$VAL"
    done
    # The causal head with TDE inference, trained by the PyTorch reference of the same stage-1 recipe.
    for c in "$out"/causal-s*; do
        case $c in *.partial) continue ;; esac
        [ -e "$c" ] || continue
        s=${c##*-s}
        bench_torch "$out/torch_causal.jsonl" causal "$s" \
            "TL_IF=$IF TL_VAL=$VAL /usr/bin/python3 bench/torch_ref.py $out/torch_causal.jsonl causal $s $EPOCHS"
    done ;;
table)
    bench_py "$out" "$SAMPLERS" "$METHODS" <<'PY'
import sys
from table import cells, jsonl, line, reports
out, samplers, methods = sys.argv[1], sys.argv[2].split(), ["joint"] + sys.argv[3].split()
ref = jsonl(f"{out}/torch.jsonl")
keys = ["balanced_accuracy", "many", "medium", "few", "head", "mid", "tail"]
print("| stage 1 sampler | classifier | impl | seeds | balanced acc | many | medium | few | head | mid | tail |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for smp in samplers:
    for m in methods:
        for impl, rs in (("tailor", reports(f"{out}/{m}-{smp}-s*")),
                         ("PyTorch", [r for r in ref if r["method"] == m and r["run"].startswith(f"joint-{smp}-s")])):
            if rs:
                print(line(smp, m, impl, len(rs), cells(rs, keys)))
for impl, rs in (("tailor", reports(f"{out}/causal-s*")), ("PyTorch", jsonl(f"{out}/torch_causal.jsonl"))):
    if rs:
        print(line("instance", "causal head + TDE (alpha 1)", impl, len(rs), cells(rs, keys)))
PY
    ;;
esac
