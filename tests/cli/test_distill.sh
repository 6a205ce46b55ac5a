#!/usr/bin/env bash
# End-to-end tests of knowledge distillation: `tailor train --teacher RUN --distill kd|rkd` on a small
# CSV data set (mlp), the fidelity a pure-distillation student reaches to its teacher, the bad-input
# errors (one line, non-zero exit, no run folder left), and `tailor distill --generations` (a chain of
# run folders and its summary; running the command again continues without retraining).
. "$(dirname "$0")/lib.sh"

awk 'BEGIN { srand(5); print "a,b,c,d,label";
  for (i = 0; i < 600; i++) { y = (i % 10 < 6) ? 0 : (i % 10 < 9) ? 1 : 2;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", y + rand(), rand() - y, rand(), y * rand(), y } }' >"$tmp/train.csv"
cp "$tmp/train.csv" "$tmp/test.csv"
awk 'BEGIN { srand(6); print "a,b,c,d,label"; for (i = 0; i < 100; i++) printf "%.3f,%.3f,%.3f,%.3f,%d\n", rand(), rand(), rand(), rand(), i % 4 }' >"$tmp/four.csv"
# The same rows with the labels rotated (y -> y+1 mod 3): a teacher that disagrees with the labels.
awk -F, 'NR == 1 { print; next } { $5 = ($5 + 1) % 3; print }' OFS=, "$tmp/train.csv" >"$tmp/rotated.csv"
D="csv:$tmp/train.csv,$tmp/test.csv"
common="--data $D --model mlp --hidden 16/8 --batch 32 --quiet"

$T train $common --epochs 6 --out "$tmp/teacher" >/dev/null 2>&1
check "teacher trains" '[ -f "$tmp/teacher/model.safetensors" ]'

for spec in kd kd:T=2,alpha=0.9,task=0.1 rkd rkd:distance=25,angle=50,kd=16,normalize=1 rkd:task=0; do
    if $T train $common --epochs 2 --teacher "$tmp/teacher" --distill "$spec" --out "$tmp/s-$spec" >"$tmp/out" 2>&1; then
        ok "train --distill $spec"
    else
        bad "train --distill $spec: $(tail -n 1 "$tmp/out")"
    fi
done
check "config.json records the teacher and the distillation" \
    'grep -q "\"teacher\": \"$tmp/teacher\"" "$tmp/s-kd/config.json" && grep -q "\"distill\": \"kd\"" "$tmp/s-kd/config.json"'

# A student trained only on the soft labels (task=0) of a teacher that learned rotated labels must follow
# the teacher, not the labels of its own data set.
$T train --data "csv:$tmp/rotated.csv,$tmp/rotated.csv" --model mlp --hidden 16/8 --batch 32 --quiet --epochs 8 \
    --out "$tmp/rot-teacher" >/dev/null 2>&1
$T train $common --epochs 12 --teacher "$tmp/rot-teacher" --distill kd:task=0,T=1 --seed 3 --out "$tmp/pure" >/dev/null 2>&1
head -n 201 "$tmp/test.csv" >"$tmp/input.csv"
$T predict --run "$tmp/rot-teacher" --input "$tmp/input.csv" 2>/dev/null | cut -d, -f1 | tail -n +2 >"$tmp/pt"
$T predict --run "$tmp/pure" --input "$tmp/input.csv" 2>/dev/null | cut -d, -f1 | tail -n +2 >"$tmp/ps"
tail -n +2 "$tmp/input.csv" | cut -d, -f5 >"$tmp/py"
agree=$(paste -d' ' "$tmp/pt" "$tmp/ps" | awk '$1 == $2 { a++ } END { print a + 0 }')
labels=$(paste -d' ' "$tmp/py" "$tmp/ps" | awk '$1 == $2 { a++ } END { print a + 0 }')
check "pure distillation follows the teacher: agrees on >= 180 of 200 rows (got $agree), with the labels on <= 40 (got $labels)" \
    '[ "$agree" -ge 180 ] && [ "$labels" -le 40 ]'

# Bad input: one error line naming the option, non-zero exit, no run folder.
expect_error "--distill without --teacher" "needs --teacher" $T train $common --distill kd --out "$tmp/bad"
expect_error "--teacher that is not a run" "--teacher" $T train $common --distill kd --teacher "$tmp/nowhere" --out "$tmp/bad"
expect_error "--teacher without --distill" "no --distill" $T train $common --teacher "$tmp/teacher" --out "$tmp/bad"
expect_error "--distill unknown name" "unknown name 'hinton'" $T train $common --distill hinton --teacher "$tmp/teacher" --out "$tmp/bad"
expect_error "--distill bad key" "unknown key 'temp'" $T train $common --distill kd:temp=2 --teacher "$tmp/teacher" --out "$tmp/bad"
expect_error "--distill T=0" "T=0 must be > 0" $T train $common --distill kd:T=0 --teacher "$tmp/teacher" --out "$tmp/bad"
expect_error "--teacher with other classes" "classes" $T train --data "csv:$tmp/four.csv,$tmp/four.csv" --model mlp --quiet \
    --distill kd --teacher "$tmp/teacher" --out "$tmp/bad"

# Self-distillation over generations.
if $T distill --generations 2 --distill kd $common --epochs 2 --out "$tmp/chain" >"$tmp/out" 2>&1; then
    ok "distill --generations 2"
else
    bad "distill --generations 2: $(tail -n 1 "$tmp/out")"
fi
check "the chain holds gen-0..gen-2 and a 3-row summary" \
    '[ -f "$tmp/chain/gen-2/model.safetensors" ] && [ "$(grep -c "^| [0-9]" "$tmp/chain/generations.md")" -eq 3 ]'
check "gen-2 was taught by gen-1" 'grep -q "\"teacher\": \"$tmp/chain/gen-1\"" "$tmp/chain/gen-2/config.json"'
check "gen-0 learned without distillation" 'grep -q "\"distill\": \"none\"" "$tmp/chain/gen-0/config.json"'
before=$(stat -c %Y "$tmp/chain/gen-1/model.safetensors")
$T distill --generations 3 --distill kd $common --epochs 2 --out "$tmp/chain" >/dev/null 2>&1
check "running it again with --generations 3 keeps gen-1 and adds gen-3" \
    '[ "$(stat -c %Y "$tmp/chain/gen-1/model.safetensors")" = "$before" ] && [ -f "$tmp/chain/gen-3/model.safetensors" ]'
if $T distill --generations 1 $common --out "$tmp/chain2" >/dev/null 2>"$tmp/err"; then bad "distill without --distill: accepted"
else check "distill without --distill: one error line" 'grep -q "needs --distill" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -ge 1 ]'; fi

finish
