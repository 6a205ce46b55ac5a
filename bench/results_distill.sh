#!/usr/bin/env bash
# Distillation benchmark (issue 7, docs/results.md): on Fashion-MNIST --lt exp:100 --val 100, a resnet32
# teacher (the re-balancing recipe of bench/results_rebal.sh, plain CE, seed 0) taught to the cnn with
# Hinton KD, RKD-D, RKD-A and RKD-DA, each with and without the task loss, next to the cnn trained alone;
# seeds 0 1 2 for the students (one teacher for all: the students' spread is the students'). The
# PyTorch column (bench/torch_distill.py) trains the same students from the same teacher file.
#   bench/results_distill.sh OUT tailor   train what is missing (teacher first, then seed-major)
#   bench/results_distill.sh OUT torch    run the PyTorch students that are missing (kd, rkd-da)
#   bench/results_distill.sh OUT table    print the Markdown table (mean ± sample std over the seeds found)
# Env: EPOCHS (12), THREADS (2), SEEDS ("0 1 2"), TEACHER_EPOCHS (EPOCHS). Run `make` first.
set -eu
cd "$(dirname "$0")/.."
out=$1; mode=$2
EPOCHS=${EPOCHS:-12}; THREADS=${THREADS:-2}; SEEDS=${SEEDS:-0 1 2}; TEACHER_EPOCHS=${TEACHER_EPOCHS:-$EPOCHS}
mkdir -p "$out"
RECIPE="--data fashion-mnist --lt exp:100 --val 100 --batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine --threads $THREADS --quiet"
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
    if [ ! -e "$teacher" ]; then
        rm -rf "$teacher.partial"
        cmd="build/tailor train $RECIPE --model resnet32 --epochs $TEACHER_EPOCHS --seed 0 --out $teacher"
        echo "$cmd" >>"$out/commands.txt"
        $cmd >/dev/null
    fi
    for s in $SEEDS; do
        for m in $METHODS; do
            dir="$out/$m-s$s"
            [ -e "$dir" ] && continue
            rm -rf "$dir.partial"
            teach=""; [ $m != alone ] && teach="--teacher $teacher"
            cmd="build/tailor train $RECIPE --model cnn --epochs $EPOCHS --seed $s $teach $(args $m) --out $dir"
            echo "$cmd" >>"$out/commands.txt"
            $cmd >/dev/null
        done
    done ;;
torch)
    for s in $SEEDS; do
        for m in alone kd rkd-da; do
            grep -q "\"method\": \"$m\", \"seed\": $s," "$out/torch.jsonl" 2>/dev/null && continue
            echo "/usr/bin/python3 bench/torch_distill.py $out/torch.jsonl $teacher/model.safetensors $m $s $EPOCHS" >>"$out/commands_torch.txt"
            /usr/bin/python3 bench/torch_distill.py "$out/torch.jsonl" "$teacher/model.safetensors" $m $s $EPOCHS
        done
    done ;;
table)
    /usr/bin/python3 - "$out" "$METHODS" <<'PY'
import glob, json, os, statistics, sys
out, methods = sys.argv[1], sys.argv[2].split()
torch_rows = [json.loads(l) for l in open(f"{out}/torch.jsonl")] if os.path.exists(f"{out}/torch.jsonl") else []
keys = ["balanced_accuracy", "macro_f1", "head", "mid", "tail"]
def ms(v):
    v = [x * 100 for x in v if x is not None]
    if not v: return "n/a"
    return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"
t = f"{out}/teacher/report.json"
if os.path.exists(t):
    r = json.load(open(t))
    print("| teacher (resnet32, CE) | tailor | 1 | " + " | ".join(ms([r[k]]) for k in keys) + " |")
for m in methods:
    rs = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/{m}-s*/report.json"))]
    if rs: print(f"| {m} | tailor | {len(rs)} | " + " | ".join(ms([r[k] for r in rs]) for k in keys) + " |")
    ts = [r for r in torch_rows if r["method"] == m]
    if ts: print(f"| {m} | PyTorch | {len(ts)} | " + " | ".join(ms([r[k] for r in ts]) for k in keys) + " |")
PY
    ;;
*) echo "usage: bench/results_distill.sh OUT tailor|torch|table" >&2; exit 2 ;;
esac
