#!/usr/bin/env bash
# Re-balancing benchmark (issue 4, docs/results.md): cnn on Fashion-MNIST --lt exp:100 --val 100, one
# fixed recipe, 9 trained methods + post-hoc logit adjustment of the CE runs (τ = 1, and τ chosen on the
# validation set: tailor only), seeds 0 1 2, in tailor and in the PyTorch reference (bench/torch_ref.py,
# same recipe and data view).
#   bench/results_rebal.sh OUT tailor   train the tailor runs that are missing (seed-major order)
#   bench/results_rebal.sh OUT torch    run the PyTorch reference runs that are missing
#   bench/results_rebal.sh OUT table    print the Markdown table (mean ± sample std over the seeds found)
# Env: EPOCHS (12), THREADS (tailor threads, 2), SEEDS ("0 1 2"). Run `make` first.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_modes "tailor|torch|table" "$@"
DRW=$(( (2 * 160 * EPOCHS + 200) / 400 ))   # docs/methods.md §0.6: epoch 160 of 200, rounded half up (10 of 12)
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
posthoc() {  # posthoc METHOD SEED: post-hoc logit adjustment of the CE run, τ = 1 and τ chosen on --val
    if [ "$1" = ce ]; then
        bench_run "$out/posthoc-la-s$2" "build/tailor eval --run $out/ce-s$2 --posthoc logit-adjust:tau=1 --out $out/posthoc-la-s$2"
        bench_run "$out/posthoc-la-auto-s$2" "build/tailor eval --run $out/ce-s$2 --posthoc logit-adjust:tau=auto --threads $THREADS --out $out/posthoc-la-auto-s$2"
    fi
}
case $mode in
tailor)
    bench_methods "$METHODS" posthoc ;;
torch)
    bench_torch_seeds "$METHODS" "/usr/bin/python3 bench/torch_ref.py $out/torch.jsonl" ;;
table)
    bench_py "$out" $METHODS <<'PY'
import sys
from table import impl_table
methods = sys.argv[2:]
methods[1:1] = ["posthoc-la", "posthoc-la-auto"]
impl_table(sys.argv[1], methods)
PY
    ;;
esac
