#!/usr/bin/env bash
# Distillation benchmark (issue 7, docs/results.md): on Fashion-MNIST --lt exp:100 --val 100, a resnet32
# teacher (the re-balancing recipe of bench/results_rebal.sh, plain CE, seed 0) taught to the cnn with
# Hinton KD, RKD-D, RKD-A and RKD-DA, each with and without the task loss, next to the cnn trained alone;
# seeds 0 1 2 for the students (one teacher for all: the students' spread is the students'). The
# PyTorch column (bench/torch_distill.py) trains the same students from the same teacher file.
#   bench/results_distill.sh OUT tailor   train what is missing (teacher first, then seed-major)
#   bench/results_distill.sh OUT torch    run the PyTorch students that are missing (kd, rkd-da)
#   bench/results_distill.sh OUT probe    re-fit the classifier of every finished student on its frozen
#                                         features (tailor retrain --method crt, into METHOD-crt-sS): with
#                                         task=0, RKD never trains the classifier, so this is how its
#                                         features are judged
#   bench/results_distill.sh OUT table    print the Markdown table (mean ± sample std over the seeds found)
# Env: EPOCHS (12), THREADS (2), SEEDS ("0 1 2"), TEACHER_EPOCHS (EPOCHS). Run `make` first.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_modes "tailor|torch|probe|table" "$@"
TEACHER_EPOCHS=${TEACHER_EPOCHS:-$EPOCHS}
RECIPE="$VIEW $SGD --threads $THREADS --quiet"
METHODS="alone kd rkd-d rkd-a rkd-da kd-notask rkd-d-notask rkd-a-notask rkd-da-notask"
args() {
    case $1 in
    alone) echo "" ;;
    kd) echo "--distill kd:T=4" ;;
    rkd-d) echo "--distill rkd:distance=1,angle=0" ;;
    rkd-a) echo "--distill rkd:distance=0,angle=2" ;;
    rkd-da) echo "--distill rkd:distance=1,angle=2" ;;
    *-notask) echo "$(args "${1%-notask}"),task=0" ;;
    esac
}
teacher=$out/teacher
case $mode in
tailor)
    bench_run "$teacher" "build/tailor train $RECIPE --model resnet32 --epochs $TEACHER_EPOCHS --seed 0 --out $teacher"
    for s in $SEEDS; do
        for m in $METHODS; do
            teach=""; [ "$m" != alone ] && teach="--teacher $teacher"
            bench_run "$out/$m-s$s" "build/tailor train $RECIPE --model cnn --epochs $EPOCHS --seed $s $teach $(args "$m") --out $out/$m-s$s"
        done
    done ;;
probe)
    for s in $SEEDS; do
        for m in $METHODS; do
            [ -e "$out/$m-s$s/report.json" ] || continue
            bench_run "$out/$m-crt-s$s" "build/tailor retrain --run $out/$m-s$s --method crt --seed $s --threads $THREADS --quiet --out $out/$m-crt-s$s"
        done
    done ;;
torch)
    bench_torch_seeds "alone kd rkd-da" "/usr/bin/python3 bench/torch_distill.py $out/torch.jsonl $teacher/model.safetensors" ;;
table)
    bench_py "$out" "$METHODS" <<'PY'
import sys
from table import by_impl, cells, jsonl, line, reports
out, methods = sys.argv[1], sys.argv[2].split()
ref = jsonl(f"{out}/torch.jsonl")
keys = ["balanced_accuracy", "macro_f1", "head", "mid", "tail"]
print("| student | impl | seeds | balanced acc | macro F1 | head | mid | tail |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for r in reports(f"{out}/teacher"):
    print(line("teacher (resnet32, CE)", "tailor", 1, cells([r], keys, "n/a")))
for m in methods:
    for impl, rs in by_impl(out, m, ref):
        if rs:
            print(line(m, impl, len(rs), cells(rs, keys, "n/a")))
probes = [(m, reports(f"{out}/{m}-crt-s*")) for m in methods]
if any(rs for _, rs in probes):
    print("\n| student, classifier re-fitted (cRT) | impl | seeds | balanced acc | macro F1 | head | mid | tail |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for m, rs in probes:
        if rs:
            print(line(m + " + cRT", "tailor", len(rs), cells(rs, keys, "n/a")))
PY
    ;;
esac
