#!/usr/bin/env bash
# End-to-end tests of tailor retrain (stage 2) and of the causal head with TDE on a small CSV data
# set with the mlp: every method writes a complete run folder that tailor eval accepts; the report
# carries the stage2 section (tau sweep); bad input gives one clear error line and no folder.
. "$(dirname "$0")/lib.sh"

awk 'BEGIN { srand(2); print "a,b,c,d,label";
  for (i = 0; i < 800; i++) { y = (i % 10 < 6) ? 0 : (i % 10 < 9) ? 1 : 2;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", y + rand(), rand() - y, rand(), y * rand(), y } }' >"$tmp/d.csv"
D=csv:$tmp/d.csv,$tmp/d.csv
common="--model mlp --hidden 16/8 --epochs 2 --batch 32 --quiet"
$T train --data "$D" $common --val 10 --out "$tmp/s1" >/dev/null 2>&1 || bad "stage 1"
$T train --data "$D" $common --out "$tmp/noval" >/dev/null 2>&1 || bad "stage 1 without val"
$T train --data "$D" $common --head cosine:s=10 --out "$tmp/cos" >/dev/null 2>&1 || bad "stage 1 cosine"

for m in crt ncm ncm:metric=cosine tau tau:tau=0.5 lws; do
    r="$tmp/r-${m//[:=]/_}"
    if $T retrain --run "$tmp/s1" --method "$m" --epochs 2 --quiet --out "$r" >"$tmp/o" 2>"$tmp/e" &&
        [ -f "$r/model.safetensors" ] && [ -f "$r/report.md" ] && [ -f "$r/config.json" ] &&
        grep -q '"stage2"' "$r/report.json" && $T eval --run "$r" >"$tmp/ev" 2>&1 &&
        grep -q "balanced accuracy" "$tmp/ev"; then
        ok "retrain $m + eval"
    else
        bad "retrain $m: $(cat "$tmp/e" "$tmp/ev" 2>/dev/null | head -3)"
    fi
done
# The tau sweep: 21 entries in report.json and a table in report.md; the chosen tau is printed.
n=$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['stage2']['sweep']))" "$tmp/r-tau/report.json" 2>/dev/null)
[ "$n" = 21 ] && grep -q "tau chosen on the validation split" "$tmp/r-tau/report.md" && ok "tau sweep in report" || bad "tau sweep in report ($n)"
# crt and lws log their epochs; ncm has none.
[ "$(wc -l <"$tmp/r-crt/metrics.jsonl")" = 2 ] && [ ! -e "$tmp/r-ncm/metrics.jsonl" ] && ok "metrics.jsonl" || bad "metrics.jsonl"
# Same seed, same model.
$T retrain --run "$tmp/s1" --method crt --epochs 2 --quiet --out "$tmp/crt2" >/dev/null 2>&1
cmp -s "$tmp/r-crt/model.safetensors" "$tmp/crt2/model.safetensors" && ok "crt reproducible" || bad "crt reproducible"
# Stage 2 of a stage-2 run works too (its head is linear).
$T retrain --run "$tmp/r-crt" --method tau:tau=1 --quiet --out "$tmp/chain" >/dev/null 2>&1 && ok "retrain a retrained run" || bad "retrain a retrained run"
# Post-hoc tau-norm in eval equals retrain --method tau:tau=0.5.
$T eval --run "$tmp/s1" --posthoc tau-norm:tau=0.5 --out "$tmp/ev-tau" >/dev/null 2>&1
$T eval --run "$tmp/r-tau_tau_0.5" --out "$tmp/ev-tau2" >/dev/null 2>&1
a=$(grep -o '"balanced_accuracy": [0-9.e-]*' "$tmp/ev-tau/report.json"); b=$(grep -o '"balanced_accuracy": [0-9.e-]*' "$tmp/ev-tau2/report.json")
[ -n "$a" ] && [ "$a" = "$b" ] && ok "posthoc tau-norm = retrain tau" || bad "posthoc tau-norm ($a vs $b)"

# Causal head: trains, evaluates with TDE (its alpha), and with --posthoc tde:alpha=0.
if $T train --data "$D" $common --head causal:heads=2,tau=16,gamma=0.03125,alpha=1 --out "$tmp/causal" >/dev/null 2>&1 &&
    $T eval --run "$tmp/causal" --posthoc tde:alpha=0 --out "$tmp/ev-c0" >/dev/null 2>&1 &&
    grep -q '"posthoc": "tde:alpha=0"' "$tmp/ev-c0/report.json"; then
    ok "causal head + tde"
else
    bad "causal head + tde"
fi

expect_error "unknown method"   "valid: crt, ncm, tau, lws" $T retrain --run "$tmp/s1" --method knn --out "$tmp/out"
expect_error "bad ncm metric"   "metric=dot"                $T retrain --run "$tmp/s1" --method ncm:metric=dot --out "$tmp/out"
expect_error "tau without val"  "--val N"                   $T retrain --run "$tmp/noval" --method tau --out "$tmp/out"
expect_error "lws on cosine"    "--head linear"             $T retrain --run "$tmp/cos" --method lws --out "$tmp/out"
expect_error "missing run"      "nonexistent"               $T retrain --run "$tmp/nonexistent" --method crt --out "$tmp/out"
expect_error "missing method"   "--method is required"      $T retrain --run "$tmp/s1" --out "$tmp/out"
expect_error "bad sampler"      "--sampler"                 $T retrain --run "$tmp/s1" --method crt --sampler nope --out "$tmp/out"
EXPECT_DIR="$tmp/out" expect_error "existing out"     "already exists"            $T retrain --run "$tmp/s1" --method crt --out "$tmp/s1"
expect_error "tde on linear"    "not causal"                $T eval --run "$tmp/s1" --posthoc tde:alpha=1 --out "$tmp/out"
expect_error "bad causal heads" "heads=3"                   $T train --data "$D" $common --head causal:heads=3 --out "$tmp/out"

finish
