#!/usr/bin/env bash
# End-to-end test of --synth m2m (docs/methods.md §12) on a small Fashion-MNIST view (500 training images
# of the t10k file, --lt exp:10): a 1-epoch ERM teacher, then 2 epochs with generation from epoch 0;
# the run folder gets m2m.json (both epochs counted) and m2m_samples.png, and repeating the run from
# its config.json gives the same model bit for bit. Bad input gives one error line and no folder.
. "$(dirname "$0")/lib.sh"

fmnist_view "$tmp/idx"
common=(--data idx:"$tmp/idx" --lt exp:10 --model cnn --feat-dim 16 --batch 32 --threads 1 --quiet)
$T train "${common[@]}" --epochs 1 --out "$tmp/teacher" >/dev/null 2>&1 || bad "teacher"

if $T train "${common[@]}" --epochs 2 --synth m2m:start=0,steps=2 --teacher "$tmp/teacher" --out "$tmp/m2m" \
    >"$tmp/o" 2>&1 && [ -f "$tmp/m2m/m2m_samples.png" ] && [ -f "$tmp/m2m/report.json" ] &&
    "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
e = d["epochs"]
sys.exit(0 if d["start"] == 0 and [x["epoch"] for x in e] == [0, 1] and
         all(0 <= x["accepted"] <= x["generated"] <= x["slots"] and x["slots"] > 0 for x in e) else 1)' "$tmp/m2m/m2m.json"; then
    ok "train --synth m2m writes m2m.json and m2m_samples.png"
else bad "train --synth m2m: $(tail -n 2 "$tmp/o")"; fi
if $T train --config "$tmp/m2m/config.json" --quiet --out "$tmp/m2m2" >/dev/null 2>&1 &&
    cmp -s "$tmp/m2m/model.safetensors" "$tmp/m2m2/model.safetensors"; then
    ok "an m2m run repeats bit for bit"
else bad "m2m repeat"; fi

# A tabular teacher for the mismatch cases.
awk 'BEGIN { srand(1); print "a,b,c,d,label";
  for (i = 0; i < 200; i++) { y = i % 3; printf "%.4f,%.4f,%.4f,%.4f,%d\n", y + rand(), rand(), rand(), rand(), y } }' >"$tmp/d.csv"
$T train --data csv:"$tmp/d.csv","$tmp/d.csv" --model mlp --hidden 8 --epochs 1 --batch 32 --quiet --out "$tmp/csvrun" >/dev/null 2>&1 || bad "csv teacher"

expect_error "m2m without --teacher" "needs --teacher" $T train "${common[@]}" --synth m2m --out "$tmp/out"
expect_error "m2m unknown key" "unknown key 'foo'" $T train "${common[@]}" --synth m2m:foo=1 --teacher "$tmp/teacher" --out "$tmp/out"
expect_error "m2m bad beta" "beta=2" $T train "${common[@]}" --synth m2m:beta=2 --teacher "$tmp/teacher" --out "$tmp/out"
expect_error "unknown synth" "valid: m2m" $T train "${common[@]}" --synth mixup --teacher "$tmp/teacher" --out "$tmp/out"
expect_error "teacher of another shape" "takes 4x1x1 inputs" $T train "${common[@]}" --synth m2m --teacher "$tmp/csvrun" --out "$tmp/out"
expect_error "m2m on tabular data" "needs image data" $T train --data csv:"$tmp/d.csv","$tmp/d.csv" --model mlp --hidden 8 --synth m2m \
    --teacher "$tmp/csvrun" --quiet --out "$tmp/out"

finish
