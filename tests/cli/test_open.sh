#!/usr/bin/env bash
# End-to-end open-set runs (--open) on a small CSV data set with the mlp: the report gains the
# "open_set" object (threshold metrics null without --val), tailor eval reproduces it, the rpl model
# loads strictly into the PyTorch module, and bad --open values or head keys fail with one clear line.
. "$(dirname "$0")/lib.sh"

# 4 classes of 4 features, class c centred at (c, -c, c/2, 0): held out, class 3 lies beyond the others
# (so the softmax is confident on it) and class 1 between them (so the softmax is not).
gen() { awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed); print "a,b,c,d,label";
  for (i = 0; i < n; i++) { y = i % 4;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", y + rand() - 0.5, rand() - y, y / 2 + rand(), rand(), y } }'; }
gen 800 1 >"$tmp/train.csv"
gen 400 2 >"$tmp/test.csv"
data=csv:"$tmp/train.csv","$tmp/test.csv"
common=(--data "$data" --model mlp --epochs 3 --batch 32 --quiet)

# field FILE EXPR: evaluates a Python expression on the report r.
field() { "$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

if $T train "${common[@]}" --open 3 --val 20 --head rpl:points=2 --out "$tmp/rpl" >"$tmp/out" 2>&1 &&
   [ "$(field "$tmp/rpl/report.json" 'r["open_set"]["unknown_classes"] == [3] and r["classes"] == 3 and r["test_samples"] == 300 and r["open_set"]["unknown_test_samples"] == 100')" = True ] &&
   [ "$(field "$tmp/rpl/report.json" 'all(isinstance(r["open_set"][k], float) for k in ("auroc", "aupr_in", "aupr_out", "threshold", "closed_accuracy_at_threshold", "closed_macro_f1_at_threshold"))')" = True ] &&
   grep -q "Open set" "$tmp/rpl/report.md" && grep -q "AUROC" "$tmp/out"; then
    ok "train rpl with --open 3 --val 20: open_set in report.json, report.md and the output"
else bad "train rpl --open: $(tail -3 "$tmp/out")"; fi

if $T train "${common[@]}" --open 0 --head gcpl --out "$tmp/gcpl" >"$tmp/out" 2>&1 &&
   [ "$(field "$tmp/gcpl/report.json" 'r["open_set"]["threshold"] is None and r["open_set"]["closed_macro_f1_at_threshold"] is None and 0 <= r["open_set"]["auroc"] <= 1 and r["open_set"]["known_classes"] == [1, 2, 3]')" = True ]; then
    ok "train gcpl with --open 0 and no --val: threshold metrics null"
else bad "train gcpl --open: $(tail -3 "$tmp/out")"; fi

if $T train "${common[@]}" --open 1 --val 20 --out "$tmp/lin" >"$tmp/out" 2>&1 &&
   [ "$(field "$tmp/lin/report.json" 'r["open_set"]["auroc"] > 0.5')" = True ] &&
   $T train "${common[@]}" --out "$tmp/closed" >/dev/null 2>&1 &&
   [ "$(field "$tmp/closed/report.json" 'r["open_set"] is None and r["classes"] == 4')" = True ]; then
    ok "linear head: maximum softmax probability baseline; closed-set runs write open_set null"
else bad "linear --open: $(tail -3 "$tmp/out")"; fi

if $T eval --run "$tmp/rpl" >"$tmp/out" 2>&1 &&
   cmp -s <(field "$tmp/rpl/report.json" 'r["open_set"]') <(field "$tmp/rpl/eval/report.json" 'r["open_set"]'); then
    ok "eval reproduces the open-set metrics"
else bad "eval --open: $(tail -3 "$tmp/out")"; fi

if PYTHONPATH=python "$PY" -c 'import sys, tailor_torch; m = tailor_torch.load(sys.argv[1]); assert type(m.head).__name__ == "RPLHead"' \
   "$tmp/rpl/model.safetensors" 2>"$tmp/err"; then
    ok "the rpl model loads strictly into tailor_torch"
else bad "rpl interop: $(tail -2 "$tmp/err")"; fi

expect_error "--open out of range"   "out of range"  $T train "${common[@]}" --open 7 --out "$tmp/run"
expect_error "--open leaves 1 class" "at least 2"    $T train "${common[@]}" --open 0,1,2 --out "$tmp/run"
expect_error "--open not a list"     "--open"        $T train "${common[@]}" --open 1,x --out "$tmp/run"
expect_error "--open repeated class" "twice"         $T train "${common[@]}" --open 1,1 --out "$tmp/run"
expect_error "--open without a test set" "no test set" $T train --data csv:"$tmp/train.csv" --model mlp --val 20 --open 3 --out "$tmp/run"
expect_error "rpl bad key"           "not one of shared, per-class"       $T train "${common[@]}" --open 3 --head rpl:radius=each --out "$tmp/run"
expect_error "gcpl unknown key"      "unknown key"   $T train "${common[@]}" --open 3 --head gcpl:radius=shared --out "$tmp/run"

finish
