#!/usr/bin/env bash
# End-to-end tests of the tailor command: bad input gives one clear error line, a non-zero exit and
# no run folder; Ctrl-C then --resume reproduces an uninterrupted run bit for bit; the saved model
# loads strictly into the PyTorch module and gives the same logits as `tailor predict`.
. "$(dirname "$0")/lib.sh"

# A small tabular data set: 3 classes, 4 features, long-tailed by construction.
awk 'BEGIN { srand(1); print "a,b,c,d,label";
  for (i = 0; i < 600; i++) { y = (i % 10 < 6) ? 0 : (i % 10 < 9) ? 1 : 2;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", y + rand(), rand() - y, rand(), y * rand(), y } }' >"$tmp/train.csv"
cp "$tmp/train.csv" "$tmp/test.csv"
printf 'a,b,c,d,label\n1,2,x,4,0\n' >"$tmp/badcell.csv"
printf '\x00\x00\x08\x03\x7f\xff\xff\xff\x00\x00\x00\x1c\x00\x00\x00\x1c' >"$tmp/huge-idx3-ubyte"
mkdir "$tmp/idx" && for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do cp "$tmp/huge-idx3-ubyte" "$tmp/idx/$f"; done

expect_error "missing data dir"    "nonexistent"        $T train --data idx:"$tmp/nonexistent" --out "$tmp/run"
expect_error "huge IDX header"     "train-images-idx3-ubyte" $T train --data idx:"$tmp/idx" --out "$tmp/run"
expect_error "non-numeric CSV"     "badcell.csv"        $T train --data csv:"$tmp/badcell.csv" --out "$tmp/run"
expect_error "unknown option"      "unknown option --epoch" $T train --data fashion-mnist --epoch 3 --out "$tmp/run"
expect_error "unknown loss"        "valid: ce"          $T train --data fashion-mnist --loss fooloss --out "$tmp/run"
expect_error "unknown optim key"   "unknown key"        $T train --data fashion-mnist --optim sgd:lrr=0.1 --out "$tmp/run"
expect_error "bad epochs"          "--epochs"           $T train --data fashion-mnist --epochs zero --out "$tmp/run"
expect_error "bad lt"              "--lt"               $T train --data fashion-mnist --lt exp:abc --out "$tmp/run"
expect_error "unknown model"       "valid: cnn"         $T train --data fashion-mnist --model vgg --out "$tmp/run"
expect_error "unwritable out"      "cannot create"      $T train --data csv:"$tmp/train.csv","$tmp/test.csv" --model mlp --out /proc/run
EXPECT_DIR="$tmp/run" expect_error "missing run"         "--run .*nonexistent: no such run folder" $T eval --run "$tmp/nonexistent"
EXPECT_DIR="$tmp/run" expect_error "unknown command"     "unknown command"    $T fly

# A learning rate no run can train with is refused up front (the spec parser's range table).
expect_error "absurd lr" "lr=1e+30 must be <= 10" $T train --data csv:"$tmp/train.csv","$tmp/test.csv" --model mlp \
    --optim sgd:lr=1e30,momentum=0 --epochs 3 --quiet --out "$tmp/run"
# A blow-up after one good epoch (lr 10 reached at the end of the warm-up): one line naming epoch 1,
# the step and the loss, and the run folder keeps the epoch-1 checkpoint and metrics.
$T train --data csv:"$tmp/train.csv","$tmp/test.csv" --model mlp --optim sgd:lr=10,momentum=0.9 \
    --warmup 1 --epochs 4 --batch 32 --quiet --out "$tmp/run" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "training diverged at epoch 1, step [0-9]*: the loss is .*last checkpoint is kept" "$tmp/err" &&
   PYTHONPATH=python "$PY" -c 'import json, sys, st
_, meta = st.load(sys.argv[1] + "/checkpoint.safetensors")
logs = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
sys.exit(0 if meta["epoch"] == "1" and meta["step"] == "0" and [l["epoch"] for l in logs] == [0] else 1)' "$tmp/run.partial"; then
    ok "divergence trap keeps the last good checkpoint"
else bad "divergence trap after one epoch (exit $rc): $(cat "$tmp/err")"; fi
rm -rf "$tmp/run.partial"

# Tabular training end to end, then eval and predict.
if $T train --data csv:"$tmp/train.csv","$tmp/test.csv" --model mlp --epochs 3 --batch 32 --quiet --out "$tmp/mlp" >"$tmp/out" 2>&1 &&
   grep -q "balanced accuracy" "$tmp/out" && [ -f "$tmp/mlp/report.json" ] && [ -f "$tmp/mlp/per_class_accuracy.png" ]; then
    ok "train mlp on CSV"
else bad "train mlp on CSV: $(tail -3 "$tmp/out")"; fi
if $T train --config "$tmp/mlp/config.json" --quiet --out "$tmp/mlp2" >/dev/null 2>&1 &&
   cmp -s "$tmp/mlp/model.safetensors" "$tmp/mlp2/model.safetensors"; then
    ok "--config RUN/config.json repeats the run bit for bit"
else bad "--config repeat"; fi
if $T eval --run "$tmp/mlp" >"$tmp/out" 2>&1 && [ -f "$tmp/mlp/eval/report.json" ] &&
   cmp -s <(grep -v seconds "$tmp/mlp/report.json" | grep accuracy) <(grep -v seconds "$tmp/mlp/eval/report.json" | grep accuracy); then
    ok "eval reproduces the run's report"
else bad "eval: $(tail -3 "$tmp/out")"; fi

# Interrupt a Fashion-MNIST run with SIGINT, resume it, and compare with an uninterrupted run.
# TL_CLI_LT picks a smaller long-tailed view for slow (sanitizer) builds.
args=(--data fashion-mnist --lt "${TL_CLI_LT:-exp:100}" --model cnn --feat-dim 32 --epochs 2 --batch 256 --quiet)
$T train "${args[@]}" --out "$tmp/full" >/dev/null 2>&1
$T train "${args[@]}" --out "$tmp/cut" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do [ -e "$tmp/cut.partial/config.json" ] && break; sleep 0.1; done
sleep 2
kill -INT $pid
wait $pid
rc=$?
if [ $rc -eq 130 ] && [ -f "$tmp/cut.partial/checkpoint.safetensors" ] && [ ! -e "$tmp/cut" ]; then
    ok "SIGINT leaves a resumable checkpoint"
else bad "SIGINT (exit $rc)"; fi
$T train --resume "$tmp/cut" --quiet >/dev/null 2>&1
if cmp -s "$tmp/full/model.safetensors" "$tmp/cut/model.safetensors"; then
    ok "resume gives the same model bit for bit"
else bad "resume differs from the uninterrupted run"; fi

# The model file loads strictly into the PyTorch module and gives the logits tailor predicts.
gzip -dc /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz | head -c $((16 + 784 * 300)) |
    "$PY" -c 'import sys; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(d[:4] + (300).to_bytes(4, "big") + d[8:])' >"$tmp/imgs-idx3-ubyte"
$T predict --run "$tmp/full" --input "$tmp/imgs-idx3-ubyte" >"$tmp/pred.csv" 2>"$tmp/err"
if PYTHONPATH=python "$PY" - "$tmp/full/model.safetensors" "$tmp/imgs-idx3-ubyte" "$tmp/pred.csv" <<'PYEOF'
import sys
import numpy as np
import torch
import st
import tailor_torch
model_path, imgs, pred = sys.argv[1:]
model = tailor_torch.load(model_path)
_, meta = st.load(model_path)
mean = float(meta["norm_mean"]); std = float(meta["norm_std"])
raw = open(imgs, "rb").read()
x = np.frombuffer(raw[16:], np.uint8).reshape(-1, 1, 28, 28).astype(np.float32)
with torch.no_grad():
    logits = model(torch.from_numpy((x - mean) / std)).numpy()
rows = np.loadtxt(pred, delimiter=",", skiprows=1, usecols=range(22))  # the last column is pred_name
got = rows[:, 2:12]
err = np.abs(got - logits).max() / np.abs(logits).max()
print("max rel err", err)
sys.exit(0 if err < 1e-4 and (rows[:, 1] == logits.argmax(1)).mean() > 0.99 else 1)
PYEOF
then ok "model.safetensors loads into PyTorch with the same logits"; else bad "PyTorch interop"; fi

# OpenBLAS's kernels (docs/cli.md): on a CPU with AVX2 and FMA or AVX-512 the command never runs
# OpenBLAS's generic (Prescott) ones, whatever OpenBLAS's own choice was; a value the user set is kept.
cores() { OPENBLAS_VERBOSE=2 "$@" 2>&1 | grep -o 'Core: [A-Za-z0-9]*' | tail -n 1; }
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
    c=$(cores env -u OPENBLAS_CORETYPE $T --version)
    check "OpenBLAS runs the CPU's kernels, not the generic ones ($c)" "[ -n '$c' ] && [ '$c' != 'Core: Prescott' ]"
fi
c=$(OPENBLAS_CORETYPE=Prescott cores $T --version)
check "OPENBLAS_CORETYPE set by the user is kept ($c)" "[ '$c' = 'Core: Prescott' ]"
# ... and its idle workers sleep at once (OPENBLAS_THREAD_TIMEOUT=4), read off a running command.
env -u OPENBLAS_THREAD_TIMEOUT $T train --data csv:"$tmp/train.csv","$tmp/test.csv" --model mlp --epochs 100000 \
    --quiet --out "$tmp/envrun" >/dev/null 2>&1 &
pid=$!
sleep 1
vars=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null)
kill $pid; wait $pid 2>/dev/null
check "the command runs with OPENBLAS_THREAD_TIMEOUT=4" "grep -qx OPENBLAS_THREAD_TIMEOUT=4 <<<'$vars'"

finish
