#!/usr/bin/env bash
# End-to-end tests of `tailor study` on a small CSV data set (mlp): the choice follows the validation
# split when validation and test disagree on purpose; a study interrupted mid-training and run again
# gives the leaderboard of an uninterrupted one; successive halving under --budget; DIR/best; bad grid
# files and options give one error line and leave nothing. Also `tailor eval --posthoc tde:alpha=auto`
# against a brute-force sweep of alpha on the validation split.
. "$(dirname "$0")/lib.sh"

awk 'BEGIN { srand(5); print "a,b,c,d,label";
  for (i = 0; i < 1500; i++) { y = (i % 10 < 6) ? 0 : (i % 10 < 9) ? 1 : 2;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", y + 2 * rand(), 2 * rand() - y, rand(), y * rand(), y } }' >"$tmp/train.csv"
cp "$tmp/train.csv" "$tmp/test.csv"
# The same rows with every label moved on (y -> y+1 mod 3): the better a model, the worse its "test" score.
awk -F, 'NR == 1 { print; next } { $5 = ($5 + 1) % 3; print }' OFS=, "$tmp/train.csv" >"$tmp/shifted.csv"
common="--model mlp --hidden 16/8 --batch 32 --val 30"

# Validation and test disagree on purpose: `good` learns, `weak` barely moves from its initialisation.
cat >"$tmp/disagree.txt" <<'EOF'
good = train --optim sgd:lr=0.1,momentum=0.9
weak = train --optim sgd:lr=0.0001,momentum=0
good+la = eval good --posthoc logit-adjust:tau=auto
EOF
if $T study --data "csv:$tmp/train.csv,$tmp/shifted.csv" $common --epochs 4 --grid "$tmp/disagree.txt" --seeds 2 --jobs 2 \
    --quiet --out "$tmp/dis" >"$tmp/dis.out" 2>&1; then ok "study runs (3 candidates, 2 seeds, 2 jobs)"; else bad "study: $(tail -n 1 "$tmp/dis.out")"; fi
field() {  # field FILE CANDIDATE KEY SECTION: the KEY of a candidate's SECTION (validation|test) in study.json
    /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); c=[x for x in d['candidates'] if x['candidate']==sys.argv[2]][0]; print(c[sys.argv[4]][sys.argv[3]])" "$@"
}
choice=$(/usr/bin/python3 -c "import json; print(json.load(open('$tmp/dis/study.json'))['choice']['candidate'])" 2>/dev/null)
gv=$(field "$tmp/dis/study.json" good balanced_accuracy validation 2>/dev/null); wv=$(field "$tmp/dis/study.json" weak balanced_accuracy validation 2>/dev/null)
gt=$(field "$tmp/dis/study.json" good balanced_accuracy test 2>/dev/null); wt=$(field "$tmp/dis/study.json" weak balanced_accuracy test 2>/dev/null)
check "validation and test disagree (good $gv/$gt, weak $wv/$wt on validation/test)" \
    "awk -v a=$gv -v b=$wv -v c=$gt -v d=$wt 'BEGIN { exit !(a > b && c < d) }'"
check "the choice follows validation (chose $choice)" '[ "$choice" = good ] || [ "$choice" = good+la ]'
check "validation reports come from the validation split" 'grep -q "\"split\": \"val\"" "$tmp/dis/val/good-s0/report.json"'
check "leaderboard, verdict and figures" 'grep -q "not used for the choice" "$tmp/dis/leaderboard.md" && grep -q "The winner is" "$tmp/dis/leaderboard.md" &&
    [ -s "$tmp/dis/val_vs_test.png" ] && [ -s "$tmp/dis/groups.png" ] && [ -s "$tmp/dis/metric_vs_time.png" ]'
check "DIR/best is a run folder for eval and predict" '[ -L "$tmp/dis/best" ] && [ -f "$tmp/dis/best/model.safetensors" ] &&
    $T eval --run "$tmp/dis/best" --out "$tmp/best-eval" >/dev/null 2>&1 && $T predict --run "$tmp/dis/best" --input "$tmp/test.csv" >/dev/null 2>&1'
# Running it again does nothing new and gives the same study.json (apart from the clock).
strip() { grep -v '"study_seconds"\|"train_seconds"' "$1"; }
strip "$tmp/dis/study.json" >"$tmp/dis1.json"
$T study --data "csv:$tmp/train.csv,$tmp/shifted.csv" $common --epochs 4 --grid "$tmp/disagree.txt" --seeds 2 --jobs 2 \
    --out "$tmp/dis" >/dev/null 2>"$tmp/again.err"
check "a finished study run again trains nothing and answers the same" '! grep -q "train " "$tmp/again.err" && strip "$tmp/dis/study.json" | cmp -s - "$tmp/dis1.json"'
EXPECT_DIR="$tmp/none" expect_error "other options on the same folder" "holds a study made with other options" \
    $T study --data "csv:$tmp/train.csv,$tmp/shifted.csv" $common --epochs 5 --grid "$tmp/disagree.txt" --seeds 2 --out "$tmp/dis"

# Resume: a study stopped with SIGINT mid-training, run again, gives the uninterrupted leaderboard.
cat >"$tmp/resume.txt" <<'EOF'
ce = train --loss ce
bsm = train --loss balanced-softmax
ce+crt = retrain ce --method crt
EOF
rs="--data csv:$tmp/train.csv,$tmp/test.csv $common --epochs 100 --grid $tmp/resume.txt --threads 1"
$T study $rs --quiet --out "$tmp/whole" >/dev/null 2>&1
$T study $rs --quiet --out "$tmp/cut" >/dev/null 2>"$tmp/cut.err" &
pid=$!
for i in $(seq 1 100); do [ -e "$tmp/cut/runs/ce-s0.partial/checkpoint.safetensors" ] && break; sleep 0.1; done
kill -INT $pid
wait $pid
rc=$?
check "SIGINT stops the study resumably (exit $rc, a partial run left)" \
    '[ $rc -eq 130 ] && grep -q "run the same command again to resume" "$tmp/cut.err" && ls -d "$tmp"/cut/runs/*.partial >/dev/null 2>&1'
$T study $rs --quiet --out "$tmp/cut" >/dev/null 2>&1
table() { grep '^| [0-9]' "$1" | cut -d'|' -f1-14; }
check "the resumed study gives the uninterrupted leaderboard" '[ -s "$tmp/cut/leaderboard.md" ] && [ -n "$(table "$tmp/whole/leaderboard.md")" ] &&
    [ "$(table "$tmp/whole/leaderboard.md")" = "$(table "$tmp/cut/leaderboard.md")" ]'

# Successive halving: 4 stage-1 models at 2 epochs, the better 2 go on to 4.
cat >"$tmp/halve.txt" <<'EOF'
a = train --loss ce
b = train --loss balanced-softmax
c = train --optim sgd:lr=0.0001,momentum=0
d = train --sampler class
b+la = eval b --posthoc logit-adjust:tau=auto
EOF
$T study --data "csv:$tmp/train.csv,$tmp/test.csv" $common --epochs 4 --grid "$tmp/halve.txt" --budget 60 --quiet --out "$tmp/halve" >/dev/null 2>&1
pruned=$(grep -c '(pruned)' "$tmp/halve/leaderboard.md" 2>/dev/null)
full=$(grep '^| [0-9]' "$tmp/halve/leaderboard.md" 2>/dev/null | grep -vc '(pruned)')
check "--budget prunes by successive halving ($pruned pruned at 2 epochs, $full at 4)" \
    '[ "$pruned" -ge 2 ] && [ "$full" -ge 2 ] && grep -q "| c | 2 (pruned)" "$tmp/halve/leaderboard.md" && [ -e "$tmp/halve/runs/a-s0-e2" ]'

# tde:alpha=auto picks the alpha of the best validation balanced accuracy (the smallest on ties),
# checked against a brute-force sweep of tailor eval --posthoc tde:alpha=A --split val.
$T train --data "csv:$tmp/train.csv,$tmp/test.csv" $common --epochs 3 --quiet --head causal:heads=2 --out "$tmp/causal" >/dev/null 2>&1
$T eval --run "$tmp/causal" --posthoc tde:alpha=auto --split val --out "$tmp/auto" >"$tmp/auto.out" 2>&1
chosen=$(sed -n 's/^posthoc: chose alpha = \([0-9.]*\).*/\1/p' "$tmp/auto.out")
best=-1 besta=
for k in $(seq 0 30); do
    a=$(awk -v k=$k 'BEGIN { printf "%g", k / 10 }')
    $T eval --run "$tmp/causal" --posthoc "tde:alpha=$a" --split val --out "$tmp/a$k" >/dev/null 2>&1
    b=$(grep -o '"balanced_accuracy": [0-9.e-]*' "$tmp/a$k/report.json" | head -n 1 | awk '{ print $2 }')
    if awk -v b="$b" -v best="$best" 'BEGIN { exit !(b > best) }'; then best=$b besta=$a; fi
done
check "alpha=auto = the brute-force sweep's best alpha ($chosen vs $besta)" '[ -n "$chosen" ] && [ "$chosen" = "$besta" ]'
check "the sweep and the chosen alpha are in report.json" \
    'grep -q "\"posthoc\": \"tde:alpha=$chosen (auto, on validation)\"" "$tmp/auto/report.json" && grep -q "\"posthoc_sweep\": \"alpha 0:" "$tmp/auto/report.json"'
$T train --data "csv:$tmp/train.csv,$tmp/test.csv" --model mlp --hidden 16/8 --epochs 1 --quiet --out "$tmp/noval" >/dev/null 2>&1
$T train --data "csv:$tmp/train.csv,$tmp/test.csv" --model mlp --hidden 16/8 --epochs 1 --quiet --head causal:heads=2 \
    --out "$tmp/causal-noval" >/dev/null 2>&1
expect_error "alpha=auto without a validation split" "alpha=auto needs the run's validation set" \
    $T eval --run "$tmp/causal-noval" --posthoc tde:alpha=auto --out "$tmp/x"
expect_error "--split val without a validation split" "has no validation split" $T eval --run "$tmp/noval" --split val --out "$tmp/x"
expect_error "--split unknown" "valid: test, val" $T eval --run "$tmp/noval" --split train --out "$tmp/x"

# Bad grids and options: one line naming the file and line or option, exit non-zero, nothing made.
D="--data csv:$tmp/train.csv,$tmp/test.csv $common --epochs 1"
printf 'ce = train\nx = retrain cb --method crt\n' >"$tmp/g1"
expect_error "grid: unknown candidate" "line 2: unknown candidate 'cb'" $T study $D --grid "$tmp/g1" --out "$tmp/bad"
printf 'ce = fit --loss ce\n' >"$tmp/g2"
expect_error "grid: unknown command" "line 1: unknown command 'fit'" $T study $D --grid "$tmp/g2" --out "$tmp/bad"
printf 'ce = train --los ce\n' >"$tmp/g3"
expect_error "grid: unknown train option" "line 1 (ce): unknown option --los" $T study $D --grid "$tmp/g3" --out "$tmp/bad"
printf 'ce = train --seed 3\n' >"$tmp/g4"
expect_error "grid: an option the study owns" "--seed is set by the study" $T study $D --grid "$tmp/g4" --out "$tmp/bad"
expect_error "grid: no such file" "not a built-in grid" $T study $D --grid "$tmp/nowhere.txt" --out "$tmp/bad"
expect_error "no validation split" "add --val N" $T study --data "csv:$tmp/train.csv,$tmp/test.csv" --model mlp --grid quick --out "$tmp/bad"
expect_error "no --data" "needs --data" $T study --grid quick --out "$tmp/bad"
expect_error "unknown metric" "--metric: unknown measure 'f1'" $T study $D --metric f1 --out "$tmp/bad"
expect_error "bad constraint" "--constraint head>=95: the limit must be a fraction" $T study $D --constraint 'head>=95' --out "$tmp/bad"
expect_error "bad --seeds" "--seeds: '0' is not an integer" $T study $D --seeds 0 --out "$tmp/bad"
printf 'ce = train --loss nope\n' >"$tmp/g5"
$T study $D --grid "$tmp/g5" --quiet --out "$tmp/bad5" >/dev/null 2>"$tmp/bad5.err"
rc=$?
check "a candidate that fails is named, with its own error (exit $rc)" '[ $rc -ne 0 ] && [ "$(wc -l <"$tmp/bad5.err")" -eq 1 ] &&
    grep -q "^tailor: study: candidate ce (grid line 1), seed 0, train: --loss" "$tmp/bad5.err" && [ ! -e "$tmp/bad5/study.json" ]'

finish
