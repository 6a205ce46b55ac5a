#!/usr/bin/env bash
# End-to-end tests of every head: `tailor train --head NAME` on a small CSV data set (mlp), then
# `tailor eval` and `tailor predict` rebuild the head from the model file, and the PyTorch module of
# python/tailor_torch.py loads it strictly and gives the same inference logits. The uncertainty
# head's Monte-Carlo refresh must leave class margins in [1, m] with the largest equal to m.
. "$(dirname "$0")/lib.sh"

awk 'BEGIN { srand(3); print "a,b,c,d,label";
  for (i = 0; i < 400; i++) { y = (i % 10 < 6) ? 0 : (i % 10 < 9) ? 1 : 2;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", y + rand(), rand() - y, rand(), y * rand(), y } }' >"$tmp/train.csv"
cp "$tmp/train.csv" "$tmp/test.csv"
head -n 6 "$tmp/train.csv" >"$tmp/input.csv"

i=0
for head in linear cosine:s=16 cosface:s=16 arcface:s=16 arcface:s=16,rule=easy combined:s=16 lsoftmax:m=2 \
    sphereface:m=4 affinity:sigma=8 affinity:sigma=8,centres=3 uniformface:s=16 adaptiveface:s=16,lambda=1 \
    uncertainty:m=3,T=4,warmup=0.25,every=0.25; do
    i=$((i + 1))
    run="$tmp/run$i"
    if ! $T train --data csv:"$tmp/train.csv","$tmp/test.csv" --model mlp --hidden 16/8 --epochs 4 --batch 32 \
        --head "$head" --quiet --out "$run" >"$tmp/out" 2>&1; then
        bad "train --head $head: $(tail -n 2 "$tmp/out")"; continue
    fi
    if ! $T eval --run "$run" >"$tmp/out" 2>&1; then bad "eval --head $head: $(tail -n 2 "$tmp/out")"; continue; fi
    if ! $T predict --run "$run" --input "$tmp/input.csv" >"$tmp/pred.csv" 2>"$tmp/err"; then
        bad "predict --head $head: $(cat "$tmp/err")"; continue
    fi
    if PYTHONPATH=python "$PY" - "$run/model.safetensors" "$tmp/input.csv" "$tmp/pred.csv" "$head" <<'PYEOF'
import csv, sys
import numpy as np, torch
import st, tailor_torch
model = tailor_torch.load(sys.argv[1]).double()
tensors, meta = st.load(sys.argv[1])
mean = np.array([float(v) for v in meta["norm_mean"].split("/")])
std = np.array([float(v) for v in meta["norm_std"].split("/")])
rows = [[float(v) for v in r[:-1]] for r in list(csv.reader(open(sys.argv[2])))[1:]]
x = torch.tensor((np.array(rows) - mean) / std)
with torch.no_grad():
    want = model(x).numpy()
got = np.array([[float(v) for v in r] for r in list(csv.reader(open(sys.argv[3])))[1:]])[:, 2:2 + want.shape[1]]
err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-3)
if sys.argv[4].startswith("uncertainty"):
    m = tensors["head.margins"]
    if not (m.min() >= 1 and abs(m.max() - 3) < 1e-5 and m.min() < m.max()):
        sys.exit(f"margins {m}")
sys.exit(0 if err < 1e-4 else f"rel err {err}")
PYEOF
    then ok "train/eval/predict/PyTorch --head $head"; else bad "PyTorch logits --head $head"; fi
done
# tailor plot: a 2-D run gives both figures; a wider run or a head without weight vectors is refused.
if $T train --data csv:"$tmp/train.csv","$tmp/test.csv" --model mlp --hidden 16/8 --feat-dim 2 --epochs 2 --batch 32 \
    --head cosface:s=8 --quiet --out "$tmp/emb" >/dev/null 2>&1 &&
    $T plot embedding --run "$tmp/emb" --split train >/dev/null 2>"$tmp/err" && $T plot weights --run "$tmp/emb" >/dev/null 2>>"$tmp/err" &&
    [ "$(head -c 4 "$tmp/emb/embedding.png" | tail -c 3)" = PNG ] && [ "$(head -c 4 "$tmp/emb/weight_norms.png" | tail -c 3)" = PNG ]; then
    ok "plot embedding and weights"
else
    bad "plot embedding and weights: $(cat "$tmp/err")"
fi
if ! $T plot embedding --run "$tmp/run1" >/dev/null 2>"$tmp/err" && grep -q "feat-dim 2" "$tmp/err" &&
    ! $T plot weights --run "$tmp/run9" >/dev/null 2>"$tmp/err2" && grep -q "no class weight vectors" "$tmp/err2" &&
    ! $T plot bogus >/dev/null 2>&1; then
    ok "plot refuses: 8-D features, affinity weights, unknown figure"
else
    bad "plot refusals: $(cat "$tmp/err" "$tmp/err2")"
fi
finish
