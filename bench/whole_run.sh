#!/usr/bin/env bash
# Whole commands, tailor against PyTorch / scikit-learn, side by side in one run (issue 21): wall-clock
# seconds of each command as a user waits for it (start-up, data, training, evaluation, report and
# plots on tailor's side; Python's imports on the other), ROUNDS rounds alternating the two sides
# (tailor, reference, tailor, reference, ...), medians and their ratio, for wall-clock and for CPU
# time (user + system: on a shared machine the wall clock mostly measures the scheduler).
#   train:   `tailor train` of docs/results.md's CE recipe (exp:100, batch 128, SGD, cosine) for each of
#            EPOCHS, cnn and resnet32, against bench/torch_whole.py train (the same training epochs and
#            the test-set evaluation pass)
#   eval:    `tailor eval --run` of the cnn and resnet32 runs against a PyTorch evaluation pass of the
#            same model file (batch 256)
#   predict: `tailor predict` on the 10,000 test images (CSV into OUT) against the same pass
#            writing the same CSV
#   mlp:     the mlp (256/128, batch 128, 20 epochs) on Satellite against scikit-learn's MLPClassifier
#   smote:   the mlp with --sampler smote on Shuttle (MLP_EPOCHS epochs) against imbalanced-learn's
#            SMOTE + MLPClassifier; tailor's SMOTE overhead = the smote run minus the same run with
#            --sampler oversample (the same number of rows per epoch: every class to the largest)
# Satellite and Shuttle come from r-cran-mlbench, exported to CSV by this script (R's own row order;
# Satellite: the first 4,435 rows train, the other 2,000 test; Shuttle: 43,500 / 14,500).
# Usage: bench/whole_run.sh OUT [PARTS]   PARTS: any of "train eval predict mlp smote" (default all)
# Env: ROUNDS (3), THREADS (2), EPOCHS ("1 12"), ARCHS ("cnn resnet32"), MLP_EPOCHS (20), TAILOR (the
# command to time, default build/tailor: an older build for a before/after run), BLAS_SAME (1).
set -eu
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/whole_run.sh OUT [PARTS]}
PARTS=${2:-train eval predict mlp smote}
ROUNDS=${ROUNDS:-3} T=${THREADS:-2} EPOCHS=${EPOCHS:-1 12} ARCHS=${ARCHS:-cnn resnet32} ME=${MLP_EPOCHS:-20}
mkdir -p "$OUT"
export PYTHONPATH=$PWD/python TL_VAL=0 TORCH_THREADS=$T OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T
PY=/usr/bin/python3 TL=${TAILOR:-$PWD/build/tailor}
# NumPy's and PyTorch's OpenBLAS would run its generic kernels on a CPU it does not know, where the
# tailor command restarts itself with the CPU's (docs/cli.md): the reference side gets the kernels
# tailor runs, so that both sides use the same ones (BLAS_SAME=0: each side as installed).
core=$(OPENBLAS_VERBOSE=2 "$TL" --version 2>&1 | grep -o 'Core: [A-Za-z0-9]*' | tail -n 1 | cut -d' ' -f2)
ref_core="as installed"
if [ "${BLAS_SAME:-1}" = 1 ] && [ -n "$core" ]; then PY="env OPENBLAS_CORETYPE=$core $PY" ref_core=$core; fi
SGD="--batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine --seed 0 --threads $T"
echo "# $(date -u '+%F %T') UTC, commit $(git rev-parse --short HEAD), load average $(cut -d' ' -f1-3 /proc/loadavg), threads $T, $ROUNDS rounds, OpenBLAS kernels: tailor $core, reference $ref_core" | tee "$OUT/log.txt"

secs() {  # secs LOGFILE CMD...: runs CMD (output to LOGFILE), prints WALL:CPU seconds (CPU: user + system of
    local log=$1 t  # the command and its children); fails with the command
    shift
    t=$(mktemp)
    /usr/bin/time -f "%e:%U:%S" -o "$t" "$@" >"$log" 2>&1 || { echo "failed: $* (see $log)" >&2; rm -f "$t"; exit 1; }
    awk -F: '{ printf "%.2f:%.2f", $1, $2 + $3 }' "$t"
    rm -f "$t"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { tr ' ' '\n' | grep . | cut -d: -f"$1" | tr '\n' ' '; }  # field K "W:C W:C ...": the K-th of each pair
# row NAME "TAILOR_TIMES" "REF_TIMES": one table row of wall and CPU medians and their ratios ref / tailor
row() {
    local aw ac bw bc
    aw=$(echo "$2" | field 1 | median) ac=$(echo "$2" | field 2 | median)
    bw=$(echo "$3" | field 1 | median) bc=$(echo "$3" | field 2 | median)
    awk -v n="$1" -v aw="$aw" -v ac="$ac" -v bw="$bw" -v bc="$bc" -v at="$(echo "$2" | field 1)" -v bt="$(echo "$3" | field 1)" \
        'BEGIN { printf "| %s | %.2f | %.2f | **%.2fx** | %.2f | %.2f | **%.2fx** | %s| %s|\n", n, aw, bw, bw / aw, ac, bc, bc / ac, at, bt }' \
        | tee -a "$OUT/table.md"
}
printf '| command | tailor wall s | reference wall s | ratio | tailor CPU s | reference CPU s | CPU ratio | tailor wall rounds | reference wall rounds |\n|---|---:|---:|---:|---:|---:|---:|---|---|\n' \
    | tee "$OUT/table.md"

run_dir() { rm -rf "$1" "$1.partial"; }
for part in $PARTS; do
    case $part in
    train)
        for arch in $ARCHS; do
            for e in $EPOCHS; do
                ta="" tb=""
                for r in $(seq "$ROUNDS"); do
                    run_dir "$OUT/$arch-e$e"
                    ta+=" $(secs "$OUT/$arch-e$e.log" "$TL" train --data fashion-mnist --lt exp:100 --model "$arch" --epochs "$e" $SGD --quiet --out "$OUT/$arch-e$e")"
                    tb+=" $(secs "$OUT/$arch-e$e.torch.log" $PY bench/torch_whole.py train "$arch" "$e" 0)"
                done
                row "train $arch, $e epoch(s)" "$ta" "$tb"
            done
        done ;;
    eval|predict)
        for arch in $ARCHS; do
            run="$OUT/$arch-eval-run"
            [ -e "$run/model.safetensors" ] || { run_dir "$run"; "$TL" train --data fashion-mnist --lt exp:100 --model "$arch" --epochs 1 $SGD --quiet --out "$run" >/dev/null; }
            ta="" tb=""
            for r in $(seq "$ROUNDS"); do
                if [ "$part" = eval ]; then
                    run_dir "$OUT/$arch-eval"
                    ta+=" $(secs "$OUT/$arch-eval.log" "$TL" eval --run "$run" --threads "$T" --out "$OUT/$arch-eval")"
                    tb+=" $(secs "$OUT/$arch-eval.torch.log" $PY bench/torch_whole.py eval "$run")"
                else
                    ta+=" $(secs "$OUT/$arch-predict.csv" "$TL" predict --run "$run" --threads "$T" --input /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz)"
                    tb+=" $(secs "$OUT/$arch-predict.torch.csv" $PY bench/torch_whole.py predict "$run")"
                fi
            done
            row "$part $arch, 10,000 images" "$ta" "$tb"
        done ;;
    mlp|smote)
        tab="$OUT/tab"
        if [ ! -e "$tab/shu_test.csv" ]; then
            mkdir -p "$tab"
            Rscript -e 'd <- "/usr/lib/R/site-library/mlbench/data"; load(file.path(d, "Satellite.rda")); load(file.path(d, "Shuttle.rda"));
                a <- commandArgs(TRUE)[1]; w <- function(x, f) write.csv(x, file.path(a, f), row.names = FALSE)
                w(Satellite[1:4435, ], "sat_train.csv"); w(Satellite[4436:6435, ], "sat_test.csv")
                w(Shuttle[1:43500, ], "shu_train.csv"); w(Shuttle[43501:58000, ], "shu_test.csv")' "$tab" >/dev/null
        fi
        MLP="--model mlp --batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --seed 0 --threads $T --epochs $ME --quiet"
        if [ "$part" = mlp ]; then
            ta="" tb=""
            for r in $(seq "$ROUNDS"); do
                run_dir "$OUT/sat"
                ta+=" $(secs "$OUT/sat.log" "$TL" train --data "csv:$tab/sat_train.csv,$tab/sat_test.csv" $MLP --out "$OUT/sat")"
                tb+=" $(secs "$OUT/sat.sk.log" $PY bench/torch_whole.py mlp "$tab/sat_train.csv" "$tab/sat_test.csv" "$ME")"
            done
            row "mlp on Satellite, $ME epochs" "$ta" "$tb"
        else
            ta="" tb="" tc=""
            for r in $(seq "$ROUNDS"); do
                run_dir "$OUT/shu-smote"; run_dir "$OUT/shu-over"
                ta+=" $(secs "$OUT/shu-smote.log" "$TL" train --data "csv:$tab/shu_train.csv,$tab/shu_test.csv" $MLP --sampler smote --out "$OUT/shu-smote")"
                tb+=" $(secs "$OUT/shu-smote.sk.log" $PY bench/torch_whole.py mlp "$tab/shu_train.csv" "$tab/shu_test.csv" "$ME" smote)"
                tc+=" $(secs "$OUT/shu-over.log" "$TL" train --data "csv:$tab/shu_train.csv,$tab/shu_test.csv" $MLP --sampler oversample --out "$OUT/shu-over")"
            done
            row "mlp + SMOTE on Shuttle, $ME epochs" "$ta" "$tb"
            a=$(echo "$ta" | field 1 | median) c=$(echo "$tc" | field 1 | median)
            awk -v a="$a" -v c="$c" -v ct="$(echo "$tc" | field 1)" 'BEGIN { printf "\ntailor SMOTE overhead: smote run %.2f s - oversample run %.2f s (rounds %s) = %.2f s, %.1f%% of the smote run (wall)\n", a, c, ct, a - c, 100 * (a - c) / a }' \
                | tee -a "$OUT/table.md"
            a=$(echo "$ta" | field 2 | median) c=$(echo "$tc" | field 2 | median)
            awk -v a="$a" -v c="$c" 'BEGIN { printf "tailor SMOTE overhead in CPU time: %.2f s - %.2f s = %.2f s, %.1f%% of the smote run\n", a, c, a - c, 100 * (a - c) / a }' \
                | tee -a "$OUT/table.md"
        fi ;;
    *) echo "unknown part $part (train eval predict mlp smote)" >&2; exit 2 ;;
    esac
done
