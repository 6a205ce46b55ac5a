#!/usr/bin/env bash
# SLA benchmark (docs/methods.md §11): cnn on Fashion-MNIST --lt exp:100 --val 100 with the recipe of
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
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_modes "tailor|torch|table" "$@"
METHODS="ce sla sla-sd"
args() {
    case $1 in
    ce) echo "--loss ce" ;;
    sla) echo "--ssl sla" ;;
    sla-sd) echo "--ssl sla:sd=1" ;;
    esac
}
reinfer() {  # reinfer METHOD SEED: the same model with the other inference (--posthoc), a row of its own
    local name rule
    case $1 in
    sla) name=sla-single rule=sla:infer=single ;;
    sla-sd) name=sla-sd-agg rule=sla:infer=agg ;;
    *) return 0 ;;
    esac
    bench_run "$out/$name-s$2" "build/tailor eval --run $out/$1-s$2 --posthoc $rule --threads $THREADS --out $out/$name-s$2"
}
case $mode in
tailor)
    bench_methods "$METHODS" reinfer ;;
torch)
    bench_torch_seeds "$METHODS" "/usr/bin/python3 bench/torch_sla.py $out/torch.jsonl" ;;
table)
    bench_py "$out" ce sla sla-single sla-sd sla-sd-agg <<'PY'
import sys
from table import GROUP_KEYS, impl_table
impl_table(sys.argv[1], sys.argv[2:], keys=["accuracy"] + GROUP_KEYS, folders="-s[0-9]*")
PY
    ;;
esac
