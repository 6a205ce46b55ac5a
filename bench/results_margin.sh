#!/usr/bin/env bash
# Margin-head benchmark (issue 5, docs/results.md): each head of docs/methods.md §4, §5 and §7 with plain CE
# on the re-balancing view and recipe of bench/results_rebal.sh (cnn, Fashion-MNIST --lt exp:100
# --val 100, SGD, cosine, 12 epochs), seeds 0 1 2, in tailor and in the PyTorch reference
# (bench/torch_margin.py: the python/tailor_torch.py twin of each head on bench/torch_ref.py's recipe,
# with the uniform loss, AdaptiveFace's margin term and projection and the uncertainty refresh
# written from docs/methods.md).
#   bench/results_margin.sh OUT tailor   train the tailor runs that are missing (seed-major order)
#   bench/results_margin.sh OUT torch    run the PyTorch reference runs that are missing
#   bench/results_margin.sh OUT table    print the Markdown table (mean ± sample std over the seeds found)
# Env: EPOCHS (12), THREADS (tailor threads, 2), SEEDS ("0 1 2"), METHODS (every head). Run `make` first.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_modes "tailor|torch|table" "$@"
METHODS=${METHODS:-linear cosface arcface combined lsoftmax sphereface uniformface adaptiveface uncertainty}
spec() {
    case $1 in
    cosface) echo "cosface:s=30,m=0.35" ;;
    arcface) echo "arcface:s=30,m=0.5" ;;
    combined) echo "combined:s=30,m1=1,m2=0.3,m3=0.2" ;;
    lsoftmax | sphereface) echo "$1:m=4" ;;
    *) echo "$1" ;;
    esac
}
args() { echo "--loss ce --head $(spec "$1")"; }
case $mode in
tailor)
    bench_methods "$METHODS" ;;
torch)
    for s in $SEEDS; do
        for m in $METHODS; do
            bench_torch "$out/torch.jsonl" "$m" "$s" "/usr/bin/python3 bench/torch_margin.py $out/torch.jsonl $(spec "$m") $s $EPOCHS"
        done
    done ;;
table)
    bench_py "$out" $METHODS <<'PY'
import sys
from table import impl_table
impl_table(sys.argv[1], sys.argv[2:], "head")
PY
    ;;
esac
