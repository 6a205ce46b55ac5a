#!/usr/bin/env bash
# Under mpirun (Debian's Open MPI, as root on a 2-core machine: --allow-run-as-root --oversubscribe):
# the collectives of src/core/dist.c, the layer-level data-parallel pieces (synchronised BN, dropout
# slices) and the shared evaluation pass on 2 and 3 ranks, each rank checking itself; then
# data-parallel training: `mpirun -np 2 tailor train` (1 thread each) gives, after 20+ steps, every
# parameter and BN statistic of the 1-process run of the same global batch within 1e-4
# (|a - b| <= 1e-4·max(1, |a|, |b|)), for an mlp (instance, class-balanced, SMOTE and progressive
# sampling with weighted, LDAM-DRW and focal losses; cosine, causal, uncertainty, UniformFace and
# AdaptiveFace heads; KD and RKD), a cnn (with its crop/flip augmentation; and with M2m) and resnet32 (the job
# itself fails unless every rank ends with bitwise the same model), and the same N and seed give
# bitwise the same model again; then the run layer (docs/distributed.md): evaluation, prediction and
# stage 2 under 2 and 3 ranks give the one-process reports and predictions, only rank 0 writes, a
# stop (SIGINT to mpirun) leaves one resumable checkpoint that continues under another number of
# ranks, a killed rank ends the job, and ranks that see different data refuse to start. Skipped (one
# passing check that says so) when the build has no MPI.
. "$(dirname "$0")/lib.sh"
B=${TL_BUILD:-build}
# Under the sanitizer build, LeakSanitizer cannot attribute what Open MPI's plugins keep until exit
# (their libraries are unloaded by then, the stacks end there): leaks are checked by the one-process
# tests of the same code.
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1 -x ASAN_OPTIONS=detect_leaks=0 --mca btl self,vader)
if ! "$T" --version >/dev/null || ! command -v mpirun >/dev/null || ! grep -q TL_MPI "$B/.flags"; then
    ok "no MPI in this build: skipped"
    finish
fi
for t in test_dist test_data_parallel test_eval_shared; do
    for np in 2 3; do
        out=$("${MPIRUN[@]}" -np $np "$B/tests/$t" 2>&1)
        n=$(grep -c '^[0-9]* passed, 0 failed' <<<"$out")
        [ "$n" = $np ] && ok "$t on $np ranks" || { echo "$out"; bad "$t on $np ranks"; }
    done
done

# ---- Data-parallel training: 2 ranks give the model of 1 process ----
# A small CSV (3 classes, 60/30/10 %) and a Fashion-MNIST view (idx: 500 + 200 images of t10k).
awk 'BEGIN { srand(3); print "a,b,c,d,label";
  for (i = 0; i < 400; i++) { y = (i % 10 < 6) ? 0 : (i % 10 < 9) ? 1 : 2;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", y + rand(), rand() - y, rand(), y * rand(), y } }' >"$tmp/train.csv"
fmnist_view "$tmp/idx"

# ranks NAME ARGS...: `mpirun -np 2 tailor train ARGS --out $tmp/NAME.two` (rank 0 writes it).
ranks() {
    local name=$1; shift
    "${MPIRUN[@]}" -np 2 "$T" train "$@" --out "$tmp/$name.two" >"$tmp/$name.log" 2>&1
}

# same NAME A B: every tensor of run folder A's model within 1e-4 of B's.
same() {
    "$PY" - "$2/model.safetensors" "$3/model.safetensors" <<'PYEOF' >"$tmp/same.out" 2>&1
import sys
sys.path.insert(0, "python")
import numpy as np, st
a, _ = st.load(sys.argv[1])
b, _ = st.load(sys.argv[2])
worst, where = 0.0, "nothing"
for k in a:
    x, y = a[k].astype(np.float64), b[k].astype(np.float64)
    e = float((np.abs(x - y) / np.maximum(1, np.maximum(np.abs(x), np.abs(y)))).max()) if x.size else 0.0
    if e >= worst: worst, where = e, k
print(f"worst {worst:.3g} at {where}")
sys.exit(0 if set(a) == set(b) and worst <= 1e-4 else 1)
PYEOF
    local rc=$?
    [ $rc = 0 ] && ok "$1: 2 ranks = 1 process ($(cat "$tmp/same.out"))" || bad "$1: $(cat "$tmp/same.out")"
}

# equivalent NAME ARGS...: the 1-process and the 2-rank run of ARGS agree (the 2-rank job checks
# itself that both ranks end with the same bits: tl_trainer_run).
equivalent() {
    local name=$1; shift
    if ! "$T" train "$@" --out "$tmp/$name.one" >"$tmp/$name.one.log" 2>&1; then bad "$name, one process: $(tail -n 1 "$tmp/$name.one.log")"; return; fi
    if ! ranks "$name" "$@"; then bad "$name, 2 ranks: $(tail -n 2 "$tmp/$name.log")"; return; fi
    same "$name" "$tmp/$name.one" "$tmp/$name.two"
}

# Epochs: 24 steps of the mlp, 21 of the cnn, 30 of resnet32; under the (slow) sanitizer build one
# epoch each, every check kept.
if [ "$(basename "$B")" = build-san ]; then e_mlp=1 e_cnn=1 e_r32=1; else e_mlp=2 e_cnn=3 e_r32=2; fi
mlp=(--data csv:"$tmp/train.csv","$tmp/train.csv" --model mlp --hidden 16/8 --epochs $e_mlp --batch 32 --threads 1 --quiet)
equivalent mlp "${mlp[@]}"
equivalent "mlp class-balanced, weighted ce" "${mlp[@]}" --sampler class --loss ce:weights=inverse
equivalent "mlp smote, LDAM-DRW" "${mlp[@]}" --sampler smote --loss ldam:weights=effective,drw=$((e_mlp - 1)) \
    --optim sgd:lr=0.02
equivalent "mlp progressive, focal" "${mlp[@]}" --sampler progressive --loss focal:gamma=2
equivalent "mlp cosine head" "${mlp[@]}" --head cosine:s=16
equivalent "mlp causal head" "${mlp[@]}" --head causal
equivalent "mlp uncertainty head" "${mlp[@]}" --head uncertainty:m=3,T=4,warmup=0.25,every=0.25
equivalent "mlp uniformface head" "${mlp[@]}" --head uniformface:s=16
equivalent "mlp adaptiveface head" "${mlp[@]}" --head adaptiveface:s=16,lambda=1
"$T" train "${mlp[@]}" --epochs 1 --out "$tmp/teacher" >/dev/null 2>&1 || bad "teacher"
equivalent "mlp kd" "${mlp[@]}" --distill kd --teacher "$tmp/teacher"
equivalent "mlp rkd" "${mlp[@]}" --distill rkd:kd=1 --teacher "$tmp/teacher"
# Training on these tiny views is chaotic at a large step (one process with 2 threads instead of 1
# moves a BN statistic by 1e-2 after 20 steps at lr 0.01): small steps keep rounding at rounding's size.
images=(--data idx:"$tmp/idx" --lt exp:10 --batch 32 --threads 1 --quiet)
equivalent "cnn (crop, flip)" "${images[@]}" --model cnn --epochs $e_cnn --optim sgd:lr=0.001
equivalent resnet32 "${images[@]}" --model resnet32 --batch 16 --epochs $e_r32 --optim sgd:lr=0.00001
# M2m: each rank translates the slots of its rows; the counts and the figure's pairs are the job's
# (a teacher of a few epochs at the default step, and a low γ, so that some slots are accepted).
"$T" train "${images[@]}" --model cnn --epochs 3 --out "$tmp/cnn-teacher" >/dev/null 2>&1 || bad "cnn teacher"
equivalent "cnn m2m" "${images[@]}" --model cnn --epochs 2 --optim sgd:lr=0.0001 \
    --synth m2m:start=0,steps=2,gamma=0.1,beta=0.99 --teacher "$tmp/cnn-teacher"
check "cnn m2m: the m2m.json counts of 2 ranks = 1 process, some slots accepted" \
    "cmp -s '$tmp/cnn m2m.one/m2m.json' '$tmp/cnn m2m.two/m2m.json' && grep -q '\"accepted\": [1-9]' '$tmp/cnn m2m.one/m2m.json'"

# The same N and seed: bitwise the same model.
ranks again "${mlp[@]}" && check "mlp: the same 2-rank run again gives the same bits" \
    "cmp -s '$tmp/mlp.two/model.safetensors' '$tmp/again.two/model.safetensors'" || bad "mlp again: $(tail -n 2 "$tmp/again.log")"

# What does not divide: an error naming it, from every rank.
refused() {
    local name=$1 pat=$2; shift 2
    if ranks "$name" "$@"; then bad "$name: accepted"; return; fi
    check "$name: refused ($pat)" "grep -q -- '$pat' '$tmp/$name.log' && [ ! -e '$tmp/$name.two' ] && [ ! -e '$tmp/$name.two.partial' ]"
}
refused "--batch 33" "--batch 33 does not divide among 2 processes (mpirun -np 2)" "${mlp[@]}" --batch 33
# ---- The run layer under mpirun: files, shared evaluation, stage 2, stop and resume, faults ----
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# 2000 rows of 16 features, 4 long-tailed classes: a run of a few seconds at most.
awk 'BEGIN { srand(7); printf "f0"; for (j = 1; j < 16; j++) printf ",f%d", j; print ",label";
  for (i = 0; i < 2000; i++) { y = (i % 10 < 5) ? 0 : (i % 10 < 8) ? 1 : (i % 10 < 9) ? 2 : 3;
    for (j = 0; j < 16; j++) printf "%.4f,", (j % 4 == y) * 0.5 + rand(); print y } }' >"$tmp/layer.csv"
cut -d, -f1-16 "$tmp/layer.csv" >"$tmp/input.csv"
layer=(--data csv:"$tmp/layer.csv" --val 50 --model mlp --hidden 64/32 --batch 32 --threads 1 --quiet)

# same_report A B: the two report.json files agree but for the times and the job's cost ("dist").
same_report() {
    "$PY" - "$1" "$2" <<'PYEOF'
import json, sys
def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if "seconds" not in k and k != "dist"}
    return [clean(x) for x in v] if isinstance(v, list) else v
a, b = (clean(json.load(open(p))) for p in sys.argv[1:])
sys.exit(a != b)
PYEOF
}

# same_model A B TOL: every tensor of two safetensors files agrees within TOL relative (0: bitwise).
same_model() {
    "$PY" - "$1" "$2" "$3" <<'PYEOF'
import json, struct, sys
import numpy as np
def load(p):
    raw = open(p, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    h = json.loads(raw[8:8 + n]); h.pop("__metadata__", None)
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], np.float32) for k, v in h.items()}
a, b, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
assert a.keys() == b.keys(), "different tensors"
worst = max(float(np.max(np.abs(a[k] - b[k]) / np.maximum(1, np.abs(a[k])), initial=0)) for k in a)
print(f"largest relative difference {worst:.3g}")
sys.exit(worst > tol)
PYEOF
}

# wait_checkpoint DIR: until the run's first checkpoint is there (its first epoch done), 60 s at most
# (a loaded machine starts mpirun's ranks slowly).
wait_checkpoint() {
    local i
    for i in $(seq 6000); do [ -f "$1.partial/checkpoint.safetensors" ] && return; sleep 0.01; done
}

# The pid of rank R among mpirun's children (one host: they are its own).
rank_pid() {
    local c
    for c in $(pgrep -P "$1"); do
        tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$c"; return; }
    done
}

# A one-process run, evaluated, predicted and re-trained under 2 and 3 ranks: the same reports and
# predictions as one process (the logits are bit for bit: test_eval_shared below).
test_run_layer_eval() {
    "$T" train "${layer[@]}" --epochs 2 --out "$tmp/r1" >/dev/null 2>"$tmp/err" || { bad "train for eval: $(cat "$tmp/err")"; return; }
    "$T" eval --run "$tmp/r1" --out "$tmp/e1" --batch 64 --threads 1 >"$tmp/e1.out"
    "$T" predict --run "$tmp/r1" --input "$tmp/input.csv" --batch 64 --threads 1 >"$tmp/p1.out"
    for np in 2 3; do
        "${MPIRUN[@]}" -np $np "$T" eval --run "$tmp/r1" --out "$tmp/e$np" --batch 64 --threads 1 >"$tmp/e$np.out" 2>"$tmp/err"
        local rc=$?
        [ $rc = 0 ] && same_report "$tmp/e1/report.json" "$tmp/e$np/report.json" &&
            [ "$(grep -c '^report folder' "$tmp/e$np.out")" = 1 ] && ls "$tmp/e$np" | cmp -s - <(ls "$tmp/e1") &&
            ok "eval on $np ranks: the one-process report, printed once" || bad "eval on $np ranks (exit $rc): $(cat "$tmp/err")"
        "${MPIRUN[@]}" -np $np "$T" predict --run "$tmp/r1" --input "$tmp/input.csv" --batch 64 --threads 1 >"$tmp/p$np.out" 2>"$tmp/err"
        cmp -s "$tmp/p1.out" "$tmp/p$np.out" && ok "predict on $np ranks: the one-process output" || bad "predict on $np ranks: $(cat "$tmp/err")"
    done
    "$T" eval --run "$tmp/r1" --out "$tmp/la1" --posthoc logit-adjust:tau=auto --threads 1 >/dev/null
    "${MPIRUN[@]}" -np 2 "$T" eval --run "$tmp/r1" --out "$tmp/la2" --posthoc logit-adjust:tau=auto --threads 1 >/dev/null 2>"$tmp/err"
    same_report "$tmp/la1/report.json" "$tmp/la2/report.json" && ok "eval --posthoc logit-adjust:tau=auto on 2 ranks (tau chosen on the shared validation pass)" ||
        bad "eval --posthoc on 2 ranks: $(cat "$tmp/err")"
    local m
    for m in crt ncm tau lws; do
        "$T" retrain --run "$tmp/r1" --method $m --epochs 2 --batch 64 --threads 1 --quiet --out "$tmp/s1$m" >/dev/null
        "${MPIRUN[@]}" -np 2 "$T" retrain --run "$tmp/r1" --method $m --epochs 2 --batch 64 --threads 1 --quiet --out "$tmp/s2$m" >/dev/null 2>"$tmp/err"
        same_report "$tmp/s1$m/report.json" "$tmp/s2$m/report.json" && cmp -s "$tmp/s1$m/model.safetensors" "$tmp/s2$m/model.safetensors" &&
            ok "retrain --method $m on 2 ranks: the one-process report and classifier" || bad "retrain --method $m on 2 ranks: $(cat "$tmp/err")"
    done
}

# Rank 0 alone writes; when it cannot, every rank says so and the job ends (no rank waits forever).
test_run_layer_files() {
    local t0 rc
    t0=$(ms)
    timeout 60 "${MPIRUN[@]}" -np 2 "$T" train "${layer[@]}" --epochs 1 --out /proc/tailor-run >/dev/null 2>"$tmp/err"
    rc=$?
    [ $rc != 0 ] && [ $rc != 124 ] && grep -q '^tailor (rank 0): --out /proc/tailor-run' "$tmp/err" &&
        grep -q '^tailor (rank 1): creating the folder failed on another rank' "$tmp/err" &&
        ok "rank 0 cannot create the run folder: every rank fails at once ($(( $(ms) - t0 )) ms)" || bad "unwritable --out on 2 ranks (exit $rc): $(cat "$tmp/err")"
}

# Ctrl-C on the job (SIGINT to every process of it, as a terminal sends it): every rank stops after the
# same step, rank 0 writes one checkpoint, and the run continues in one process to the uninterrupted
# run's model; a one-process stop continues on 2 ranks. The signal goes to the ranks themselves (their
# pids found before the first checkpoint): mpirun passes one on only after about half a second
# (docs/distributed.md), by when this run (~5 ms an epoch on 2 ranks) may have finished. A larger
# mlp would leave more time but is chaotic at this step size (256/256: 4e-3 between N after a resume).
test_run_layer_stop_resume() {
    local rc
    "$T" train "${layer[@]}" --epochs 30 --out "$tmp/u" >/dev/null 2>"$tmp/err" || { bad "uninterrupted run: $(cat "$tmp/err")"; return; }
    "${MPIRUN[@]}" -np 2 "$T" train "${layer[@]}" --epochs 30 --out "$tmp/s" >/dev/null 2>"$tmp/err" &
    local pid=$! r0= r1= i
    for i in $(seq 3000); do
        r0=$(rank_pid $pid 0) r1=$(rank_pid $pid 1)
        [ -n "$r0" ] && [ -n "$r1" ] && break
        sleep 0.01
    done
    wait_checkpoint "$tmp/s"
    kill -INT $r0 $r1
    wait $pid
    rc=$?
    local stops
    stops=$(grep -c 'stopped at epoch' "$tmp/err")
    [ $rc != 0 ] && [ "$stops" = 2 ] && [ "$(grep -o 'stopped at epoch [0-9]*, step [0-9]*' "$tmp/err" | sort -u | wc -l)" = 1 ] &&
        [ -f "$tmp/s.partial/checkpoint.safetensors" ] && [ ! -e "$tmp/s" ] && ! ls "$tmp/s.partial" | grep -q 'tmp-' &&
        ok "Ctrl-C on a 2-rank job: both ranks stop after the same step, one checkpoint" || bad "Ctrl-C on a 2-rank job (exit $rc): $(cat "$tmp/err")"
    "$T" train --resume "$tmp/s" --quiet >/dev/null 2>"$tmp/err" && same_model "$tmp/u/model.safetensors" "$tmp/s/model.safetensors" 1e-4 >>"$tmp/err" &&
        ok "the 2-rank checkpoint continues in 1 process to the uninterrupted model" || bad "resume of a 2-rank stop in 1 process: $(cat "$tmp/err")"
    "$T" train "${layer[@]}" --epochs 30 --out "$tmp/s1" >/dev/null 2>"$tmp/err" &
    pid=$!
    wait_checkpoint "$tmp/s1"
    kill -INT $pid
    wait $pid
    "${MPIRUN[@]}" -np 2 "$T" train --resume "$tmp/s1" --quiet >"$tmp/out" 2>"$tmp/err" &&
        same_model "$tmp/u/model.safetensors" "$tmp/s1/model.safetensors" 1e-4 >>"$tmp/err" && [ "$(grep -c '^run folder' "$tmp/out")" = 1 ] &&
        ok "a 1-process checkpoint continues on 2 ranks to the uninterrupted model" || bad "resume of a 1-process stop on 2 ranks: $(cat "$tmp/err"; cat "$tmp/out")"
}

# SIGKILL of rank 1 mid-run: the job ends non-zero within 60 s naming rank 1, leaves no finished
# folder, and its last checkpoint continues to the uninterrupted model.
test_run_layer_kill() {
    [ -f "$tmp/u/model.safetensors" ] || { bad "rank kill: no uninterrupted run"; return; }
    "${MPIRUN[@]}" -np 2 "$T" train "${layer[@]}" --epochs 30 --out "$tmp/k" >/dev/null 2>"$tmp/err" &
    local pid=$! victim= t0 rc
    wait_checkpoint "$tmp/k"
    victim=$(rank_pid $pid 1)
    [ -n "$victim" ] && kill -KILL "$victim"
    t0=$(ms)
    wait $pid
    rc=$?
    local took=$(( $(ms) - t0 ))
    [ -n "$victim" ] && [ $rc != 0 ] && [ $took -lt 60000 ] && grep -q 'rank 1' "$tmp/err" && [ ! -e "$tmp/k" ] &&
        ok "SIGKILL of rank 1: the job ends (exit $rc) in $took ms naming rank 1, no finished folder" ||
        bad "SIGKILL of rank 1 (victim '$victim', exit $rc, $took ms): $(cat "$tmp/err")"
    "${MPIRUN[@]}" -np 2 "$T" train --resume "$tmp/k" --quiet >/dev/null 2>"$tmp/err" &&
        same_model "$tmp/u/model.safetensors" "$tmp/k/model.safetensors" 1e-4 &&
        ok "the killed job's checkpoint continues to the uninterrupted model" || bad "resume after a killed rank: $(cat "$tmp/err")"
}

# A rank that sees another data file (a copy per machine that differs) or another command line.
test_run_layer_same_data() {
    mkdir -p "$tmp/d0" "$tmp/d1"
    cp "$tmp/layer.csv" "$tmp/d0/train.csv"
    head -1990 "$tmp/layer.csv" >"$tmp/d1/train.csv"
    "${MPIRUN[@]}" -np 2 sh -c 'cd "$0/d$OMPI_COMM_WORLD_RANK" && exec "$1" train --data csv:train.csv --epochs 1 --batch 32 --threads 1 --quiet --out ../dd' \
        "$tmp" "$(realpath "$T")" >/dev/null 2>"$tmp/err"
    local rc=$?
    [ $rc != 0 ] && grep -q 'rank 1 of 2 does not see the same file sizes of --data csv:train.csv as rank 0' "$tmp/err" &&
        [ ! -e "$tmp/dd" ] && [ ! -e "$tmp/dd.partial" ] && ok "a different data file on rank 1 is refused, naming it" ||
        bad "different data on rank 1 (exit $rc): $(cat "$tmp/err")"
    # A failure on one rank alone (the others go on into a collective): the job still ends, naming it.
    rm "$tmp/d1/train.csv"
    local t0=$(ms)
    timeout 60 "${MPIRUN[@]}" -np 2 sh -c 'cd "$0/d$OMPI_COMM_WORLD_RANK" && exec "$1" train --data csv:train.csv --epochs 1 --batch 32 --threads 1 --quiet --out ../dd' \
        "$tmp" "$(realpath "$T")" >/dev/null 2>"$tmp/err"
    rc=$?
    [ $rc != 0 ] && [ $rc != 124 ] && grep -q '^tailor (rank 1): cannot open train.csv' "$tmp/err" && [ ! -e "$tmp/dd" ] && [ ! -e "$tmp/dd.partial" ] &&
        ok "a failure on rank 1 alone ends the job in $(( $(ms) - t0 )) ms" || bad "rank 1 fails alone (exit $rc): $(cat "$tmp/err")"
    "${MPIRUN[@]}" -np 1 "$T" eval --run "$tmp/r1" --out "$tmp/x1" --threads 1 : -np 1 "$T" eval --run "$tmp/r1" --out "$tmp/x1" --threads 2 \
        >/dev/null 2>"$tmp/err"
    rc=$?
    [ $rc != 0 ] && grep -q 'rank 1 of 2 does not see the same command line as rank 0' "$tmp/err" && [ ! -e "$tmp/x1" ] &&
        ok "a different command line on rank 1 is refused" || bad "different command lines (exit $rc): $(cat "$tmp/err")"
}

test_run_layer_eval
test_run_layer_files
test_run_layer_stop_resume
test_run_layer_kill
test_run_layer_same_data

finish
