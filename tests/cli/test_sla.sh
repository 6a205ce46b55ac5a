#!/usr/bin/env bash
# End-to-end tests of SLA (--ssl sla[:sd=1]) on a small synthetic IDX image set (12x12, 3 classes, a
# long-tailed view with a validation split): training one epoch writes a complete run whose model
# file rebuilds the sla head, so tailor eval (each --posthoc sla:infer=), tailor predict and the
# PyTorch twin (tailor_torch.SLA) give the same class logits; stage 2 works on the unrotated features
# (ncm) or refuses clearly (tau); bad input gives one clear error line and no folder.
. "$(dirname "$0")/lib.sh"

# IDX sets: square 12x12 images in $tmp/sq, 12x10 ones in $tmp/rect; a bright bar whose place is the class.
"$PY" - "$tmp" <<'PYEOF'
import struct, sys
import numpy as np
rng = np.random.default_rng(0)
def write(d, prefix, n, h, w):
    y = (np.arange(n) % 3).astype(np.uint8)
    x = rng.integers(0, 80, (n, h, w)).astype(np.uint8)
    for i, c in enumerate(y):
        r = [slice(0, 3), slice(4, 8), slice(9, 12)][c]
        x[i, r, 2:] += 150
    open(f"{d}/{prefix}-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, n, h, w) + x.tobytes())
    open(f"{d}/{prefix}-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, n) + y.tobytes())
import os
for d, h, w in (("sq", 12, 12), ("rect", 12, 10)):
    os.makedirs(f"{sys.argv[1]}/{d}")
    write(f"{sys.argv[1]}/{d}", "train", 600, h, w)
    write(f"{sys.argv[1]}/{d}", "t10k", 60, h, w)
PYEOF
printf 'a,b,label\n1,2,0\n2,1,1\n3,3,0\n1,1,1\n' >"$tmp/d.csv"
D=idx:$tmp/sq
common=(--data "$D" --lt exp:5 --val 5 --model cnn --feat-dim 16 --epochs 1 --batch 32 --quiet)

for ssl in sla sla:sd=1; do
    run="$tmp/run-${ssl//[:=]/_}"
    if ! $T train "${common[@]}" --ssl "$ssl" --out "$run" >"$tmp/o" 2>&1; then bad "train --ssl $ssl: $(tail -n 2 "$tmp/o")"; continue; fi
    [ -f "$run/model.safetensors" ] && grep -q "\"ssl\": \"$ssl\"" "$run/config.json" &&
        [ "$(wc -l <"$run/metrics.jsonl")" = 1 ] && ok "train --ssl $ssl" || bad "train --ssl $ssl: run folder"
    # At the training batch: another batch size may move the logits' last bits (tailor.h, tl_run_set_batch).
    if $T eval --run "$run" --batch 32 >"$tmp/ev" 2>&1 && grep -q "balanced accuracy" "$tmp/ev" &&
        cmp -s <(grep -v seconds "$run/report.json" | grep -v images_per_second) <(grep -v seconds "$run/eval/report.json" | grep -v images_per_second); then
        ok "eval --ssl $ssl = the training run's own test evaluation"
    else
        bad "eval --ssl $ssl: $(tail -n 2 "$tmp/ev")"
    fi
    for infer in agg single; do
        $T eval --run "$run" --posthoc sla:infer=$infer --out "$run/ev-$infer" >/dev/null 2>"$tmp/e" &&
            grep -q "\"posthoc\": \"sla:infer=$infer\"" "$run/ev-$infer/report.json" && ok "eval --ssl $ssl --posthoc sla:infer=$infer" ||
            bad "eval --ssl $ssl --posthoc sla:infer=$infer: $(cat "$tmp/e")"
    done
    # predict = the PyTorch twin on the test images (default inference: aggregate, or h with sd=1)
    if $T predict --run "$run" --input "$tmp/sq/t10k-images-idx3-ubyte" >"$tmp/pred.csv" 2>"$tmp/e" &&
        PYTHONPATH=python "$PY" - "$run/model.safetensors" "$tmp/sq/t10k-images-idx3-ubyte" "$tmp/pred.csv" <<'PYEOF'
import csv, sys
import numpy as np, torch
import st, tailor_torch
model = tailor_torch.load(sys.argv[1]).double()
assert isinstance(model, tailor_torch.SLA)
_, meta = st.load(sys.argv[1])
raw = open(sys.argv[2], "rb").read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 12, 12).astype(np.float64)
x = (x - float(meta["norm_mean"])) / float(meta["norm_std"])
with torch.no_grad():
    want = model(torch.tensor(x)).numpy()
got = np.array([[float(v) for v in r] for r in list(csv.reader(open(sys.argv[3])))[1:]])[:, 2:2 + want.shape[1]]
err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-3)
sys.exit(0 if got.shape == want.shape and err < 1e-4 else f"rel err {err}, shapes {got.shape} {want.shape}")
PYEOF
    then ok "predict --ssl $ssl = PyTorch SLA twin"; else bad "predict --ssl $ssl: $(cat "$tmp/e")"; fi
done
sd="$tmp/run-sla_sd_1"
$T eval --run "$sd" --posthoc sla:infer=sd --out "$sd/ev-sd" >/dev/null 2>&1 &&
    cmp -s <(grep -o '"balanced_accuracy": [0-9.e-]*' "$sd/ev-sd/report.json") <(grep -o '"balanced_accuracy": [0-9.e-]*' "$sd/eval/report.json") &&
    ok "sd: --posthoc sla:infer=sd is the default" || bad "sd: --posthoc sla:infer=sd"
# Stage 2 on the features of the unrotated images: ncm gives a plain model; tau needs a linear head.
if $T retrain --run "$tmp/run-sla" --method ncm --quiet --out "$tmp/ncm" >/dev/null 2>"$tmp/e" && $T eval --run "$tmp/ncm" >/dev/null 2>>"$tmp/e"; then
    ok "retrain ncm on an SLA run"
else
    bad "retrain ncm on an SLA run: $(cat "$tmp/e")"
fi
expect_error "retrain tau on an SLA run" "needs a run trained with --head linear (this one has sla)" \
    $T retrain --run "$tmp/run-sla" --method tau --out "$tmp/out"

expect_error "non-square images"   "--ssl sla: rotates images by 90 degrees, so it needs square images larger than 1x1 (these are 12x10)" \
    $T train --data "idx:$tmp/rect" --lt exp:5 --epochs 1 --batch 32 --ssl sla --quiet --out "$tmp/out"
expect_error "csv data"            "--ssl sla: rotates images.*(these are 1x1)" \
    $T train --data "csv:$tmp/d.csv,$tmp/d.csv" --model mlp --epochs 1 --batch 2 --ssl sla --quiet --out "$tmp/out"
expect_error "bad key"             "--ssl sla: unknown key 'tau' (valid: sd, T, large_loss, training_agg)" \
    $T train "${common[@]}" --ssl sla:tau=2 --out "$tmp/out"
expect_error "bad value"           "--ssl sla: T=0 must be > 0" $T train "${common[@]}" --ssl sla:sd=1,T=0 --out "$tmp/out"
expect_error "bad bool"            "--ssl sla: sd=2" $T train "${common[@]}" --ssl sla:sd=2 --out "$tmp/out"
expect_error "unknown name"        "--ssl: unknown name 'rotnet' (valid: none, sla)" $T train "${common[@]}" --ssl rotnet --out "$tmp/out"
expect_error "with a margin head"  "leave --head linear and --loss ce" $T train "${common[@]}" --ssl sla --head cosine --out "$tmp/out"
expect_error "with another loss"   "leave --head linear and --loss ce" $T train "${common[@]}" --ssl sla --loss focal --out "$tmp/out"
expect_error "with distillation"   "cannot be combined with --distill" \
    $T train "${common[@]}" --ssl sla --distill kd --teacher "$tmp/run-sla" --out "$tmp/out"
expect_error "infer=sd without sd" "infer=sd needs a model trained with --ssl sla:sd=1" \
    $T eval --run "$tmp/run-sla" --posthoc sla:infer=sd --out "$tmp/out"
expect_error "sla rule on linear"  "not sla" $T eval --run "$tmp/ncm" --posthoc sla --out "$tmp/out"
expect_error "bad infer"           "infer=all is not one of agg, single, sd" $T eval --run "$tmp/run-sla" --posthoc sla:infer=all --out "$tmp/out"

finish
