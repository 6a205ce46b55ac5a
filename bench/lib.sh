# bench/lib.sh: what the accuracy benchmarks (bench/results_*.sh, bench/study.sh) share. Sourced as their
# first line, `. "$(dirname "$0")/lib.sh"`; not a benchmark itself. It sets strict mode and makes the
# repository root the working folder, and gives the common recipe, the command line of the scripts with
# modes, resumable runs of tailor commands with their exact command lines logged, the PyTorch reference
# runs that are missing, and the table printers (Python on stdin, with bench/table.py importable).
# Run folders are skipped when finished, so an interrupted benchmark continues where it stopped.
# shellcheck shell=bash disable=SC2034  # the variables it sets are the sourcing script's
set -eu
cd "$(dirname "$0")/.."

# The data view and recipe of docs/results.md (bench/results_rebal.sh): Fashion-MNIST, the exp:100 long
# tail after 100 validation images per class; batch 128, SGD lr 0.1 momentum 0.9 wd 5e-4, cosine.
VIEW="--data fashion-mnist --lt exp:100 --val 100"
SGD="--batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine"

# bench_modes MODES "$@": the command line `bench/NAME.sh OUT MODE`, MODE one of MODES ("a|b|c"), read into
# out and mode (else the usage line and exit 2); EPOCHS (12), THREADS (tailor threads, 2) and
# SEEDS ("0 1 2") from the environment; OUT created.
bench_modes() {
    local modes=$1
    shift
    if [ $# -lt 2 ] || [[ "|$modes|" != *"|$2|"* ]]; then
        echo "usage: bench/${0##*/} OUT $modes" >&2
        exit 2
    fi
    out=$1 mode=$2
    EPOCHS=${EPOCHS:-12} THREADS=${THREADS:-2} SEEDS=${SEEDS:-0 1 2}
    mkdir -p "$out"
}

# bench_run DIR COMMAND: run the tailor command line COMMAND (one string, split at spaces; it writes DIR)
# unless DIR is there, finished. An interrupted `tailor train` (DIR.partial with its config.json) is
# resumed instead; any other DIR.partial is removed first. The command run goes to $out/commands.txt,
# its output is dropped; the exit status is the command's.
bench_run() {
    local dir=$1 cmd=$2
    [ -e "$dir" ] && return 0
    if [[ $cmd == *" train "* ]] && [ -e "$dir.partial/config.json" ]; then
        cmd="${cmd%% train *} train --resume $dir --quiet"
    else
        rm -rf "$dir.partial"
    fi
    echo "$cmd" >>"$out/commands.txt"
    $cmd >/dev/null
}

# bench_methods METHODS [THEN]: the cnn with the common recipe for each seed of SEEDS and method of
# METHODS (seed-major), into $out/METHOD-sSEED, with the options the script's function `args METHOD`
# prints; after each, the script's function THEN METHOD SEED if one is named.
bench_methods() {
    local s m
    for s in $SEEDS; do
        for m in $1; do
            bench_run "$out/$m-s$s" "build/tailor train $VIEW --model cnn --epochs $EPOCHS $SGD --seed $s --threads $THREADS --quiet $(args "$m") --out $out/$m-s$s"
            [ -z "${2:-}" ] || "$2" "$m" "$s"
        done
    done
}

# bench_torch JSONL METHOD SEED COMMAND: run the PyTorch reference COMMAND (a shell command line, run as
# written; it appends its rows to JSONL) unless JSONL has the row of METHOD and SEED already. The command
# goes to $out/commands_torch.txt.
bench_torch() {
    grep -q "\"method\": \"$2\", \"seed\": $3," "$1" 2>/dev/null && return 0
    echo "$4" >>"$out/commands_torch.txt"
    eval "$4"
}

# bench_torch_seeds METHODS COMMAND: bench_torch of "COMMAND METHOD SEED EPOCHS" into $out/torch.jsonl for
# each seed of SEEDS and method of METHODS, seed-major.
bench_torch_seeds() {
    local s m
    for s in $SEEDS; do
        for m in $1; do
            bench_torch "$out/torch.jsonl" "$m" "$s" "$2 $m $s $EPOCHS"
        done
    done
}

# bench_py ARGS... <<'PY': the Python program on stdin with ARGS, bench/table.py importable (`from table import ...`).
bench_py() {
    PYTHONPATH=bench /usr/bin/python3 - "$@"
}
