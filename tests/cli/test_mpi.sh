#!/usr/bin/env bash
# Under mpirun (Debian's Open MPI, as root on a 2-core machine: --allow-run-as-root --oversubscribe):
# the collectives of src/core/dist.c and the layer-level data-parallel pieces (synchronised BN) on 2
# and 3 ranks, each rank checking itself; then data-parallel training: `mpirun -np 2 tailor train`
# (1 thread each) gives, after 20+ steps, every parameter and BN statistic of the 1-process run of
# the same global batch within 1e-4 (|a - b| <= 1e-4·max(1, |a|, |b|)), for an mlp (instance,
# class-balanced, SMOTE and progressive sampling with weighted, LDAM-DRW and focal losses; cosine,
# causal, uncertainty, UniformFace and AdaptiveFace heads; KD and RKD), a cnn (with its crop/flip
# augmentation) and resnet32; the two ranks end with bitwise the same model,
# and the same N and seed give bitwise the same model again. Each rank writes its own run folder
# (--out DIR.rRANK) until the run layer writes from rank 0 only. Skipped (one passing check that
# says so) when the build has no MPI.
. "$(dirname "$0")/lib.sh"
B=${TL_BUILD:-build}
# Open MPI's components stay loaded and the sanitizers unwind fully (Open MPI has no frame pointers),
# so tests/lsan.supp can name its process-lifetime allocations.
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1 --mca btl self,vader
        --mca mca_base_component_disable_dlclose 1)
if [ -n "${ASAN_OPTIONS:-}" ]; then
    export ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0
    MPIRUN+=(-x ASAN_OPTIONS -x LSAN_OPTIONS -x UBSAN_OPTIONS)
fi
if ! "$T" --version >/dev/null || ! command -v mpirun >/dev/null || ! grep -q TL_MPI "$B/.flags"; then
    ok "no MPI in this build: skipped"
    finish
fi
for t in test_dist test_data_parallel; do
    for np in 2 3; do
        out=$("${MPIRUN[@]}" -np $np "$B/tests/$t" 2>&1)
        n=$(grep -c '^[0-9]* passed, 0 failed' <<<"$out")
        [ "$n" = $np ] && ok "$t on $np ranks" || { echo "$out"; bad "$t on $np ranks"; }
    done
done

# A small CSV (3 classes, 60/30/10 %) and a Fashion-MNIST view (idx: 500 + 200 images of t10k).
awk 'BEGIN { srand(3); print "a,b,c,d,label";
  for (i = 0; i < 400; i++) { y = (i % 10 < 6) ? 0 : (i % 10 < 9) ? 1 : 2;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", y + rand(), rand() - y, rand(), y * rand(), y } }' >"$tmp/train.csv"
fmnist_view "$tmp/idx"

# ranks NAME ARGS...: `mpirun -np 2 tailor train ARGS`, rank r into $tmp/NAME.r<r>.
ranks() {
    local name=$1; shift
    "${MPIRUN[@]}" -np 2 -x "OUT=$tmp/$name.r" sh -c 'exec "$@" --out "$OUT$OMPI_COMM_WORLD_RANK"' sh \
        "$T" train "$@" >"$tmp/$name.log" 2>&1
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

# equivalent NAME ARGS...: the 1-process and the 2-rank run of ARGS agree, and both ranks hold the same bits.
equivalent() {
    local name=$1; shift
    if ! "$T" train "$@" --out "$tmp/$name.one" >"$tmp/$name.one.log" 2>&1; then bad "$name, one process: $(tail -n 1 "$tmp/$name.one.log")"; return; fi
    if ! ranks "$name" "$@"; then bad "$name, 2 ranks: $(tail -n 2 "$tmp/$name.log")"; return; fi
    same "$name" "$tmp/$name.one" "$tmp/$name.r0"
    check "$name: both ranks hold the same model" "cmp -s '$tmp/$name.r0/model.safetensors' '$tmp/$name.r1/model.safetensors'"
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

# The same N and seed: bitwise the same model.
ranks again "${mlp[@]}" && check "mlp: the same 2-rank run again gives the same bits" \
    "cmp -s '$tmp/mlp.r0/model.safetensors' '$tmp/again.r0/model.safetensors'" || bad "mlp again: $(tail -n 2 "$tmp/again.log")"

# What does not divide, or does not run data-parallel yet: an error naming it, from every rank.
refused() {
    local name=$1 pat=$2; shift 2
    if ranks "$name" "$@"; then bad "$name: accepted"; return; fi
    check "$name: refused ($pat)" "[ \$(grep -c -- '$pat' '$tmp/$name.log') = 2 ] && [ ! -e '$tmp/$name.r0' ] && [ ! -e '$tmp/$name.r0.partial' ]"
}
refused "--batch 33" "--batch 33 does not divide among 2 processes (mpirun -np 2)" "${mlp[@]}" --batch 33
refused "--synth m2m" "m2m: does not run data-parallel yet" "${images[@]}" --model cnn --epochs 1 --synth m2m:start=0 \
    --teacher "$tmp/cnn (crop, flip).one"
finish
