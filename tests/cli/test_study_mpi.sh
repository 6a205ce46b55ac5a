#!/usr/bin/env bash
# `tailor study` under mpirun (docs/cli.md, "Study"): each rank runs its share of the candidates as
# one-process children, and the study is the one-process study. On a small CSV data set (mlp):
# 2 ranks of 1 job each give the leaderboard and the choice of one process of 2 jobs (each job
# 1 thread in both), with every candidate run by one rank and rank 0 alone writing the study's own
# files; successive halving under --budget keeps the same candidates; a study finished under mpirun
# run again without it trains nothing and answers the same, and one stopped under mpirun (SIGINT
# to mpirun) resumes in one process to the uninterrupted leaderboard; a failing candidate on one rank
# fails the job on every rank. Skipped (one passing check that says so) when the build has no MPI.
. "$(dirname "$0")/lib.sh"
B=${TL_BUILD:-build}
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1 -x ASAN_OPTIONS=detect_leaks=0 --mca btl self,vader -np 2)
if ! "$T" --version >/dev/null || ! command -v mpirun >/dev/null || ! grep -q TL_MPI "$B/.flags"; then
    ok "no MPI in this build: skipped"
    finish
fi

awk 'BEGIN { srand(5); print "a,b,c,d,label";
  for (i = 0; i < 1500; i++) { y = (i % 10 < 6) ? 0 : (i % 10 < 9) ? 1 : 2;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", y + 2 * rand(), 2 * rand() - y, rand(), y * rand(), y } }' >"$tmp/train.csv"
common=(--data "csv:$tmp/train.csv,$tmp/train.csv" --model mlp --hidden 16/8 --batch 32 --val 30)
cat >"$tmp/grid.txt" <<'EOF'
ce = train --loss ce
bsm = train --loss balanced-softmax
cls = train --sampler class
ce+crt = retrain ce --method crt
ce+la = eval ce --posthoc logit-adjust:tau=auto
EOF
# The leaderboard's table and study.json without the clock's figures.
table() { grep '^| [0-9]' "$1" | cut -d'|' -f1-14; }
strip() { grep -v '"study_seconds"\|"train_seconds"' "$1"; }
study=(study "${common[@]}" --epochs 4 --grid "$tmp/grid.txt" --seeds 2)   # progress lines on: see below

"$T" "${study[@]}" --jobs 2 --threads 2 --out "$tmp/one" >/dev/null 2>"$tmp/one.err" || bad "one process: $(tail -n 1 "$tmp/one.err")"
if "${MPIRUN[@]}" "$T" "${study[@]}" --jobs 1 --threads 1 --out "$tmp/two" >"$tmp/two.out" 2>"$tmp/two.err"; then
    ok "study under mpirun -np 2"
else bad "study under mpirun: $(tail -n 2 "$tmp/two.err")"; fi
check "2 ranks give the one-process leaderboard and study.json" '[ -n "$(table "$tmp/one/leaderboard.md")" ] &&
    [ "$(table "$tmp/one/leaderboard.md")" = "$(table "$tmp/two/leaderboard.md")" ] &&
    cmp -s <(strip "$tmp/one/study.json") <(strip "$tmp/two/study.json") && [ -f "$tmp/two/best/model.safetensors" ]'
check "rank 0 alone prints the table" '[ "$(grep -c "^| rank |" "$tmp/two.out")" = 1 ]'
# Each rank's progress names its own jobs (stderr lines "tailor (rank R): study: [i/n] NAME ..."): both
# ranks ran some, and no training ran on two ranks.
r0=$(grep -c '^tailor (rank 0): study: \[[0-9/]*\] [^ ]* *train ' "$tmp/two.err")
r1=$(grep -c '^tailor (rank 1): study: \[[0-9/]*\] [^ ]* *train ' "$tmp/two.err")
dup=$(grep -o 'study: \[[0-9/]*\] [^ ]* *train' "$tmp/two.err" | awk '{ print $3 }' | sort | uniq -d | wc -l)
check "the trainings are shared between the ranks ($r0 on rank 0, $r1 on rank 1), none run twice" \
    '[ "$r0" -ge 1 ] && [ "$r1" -ge 1 ] && [ $((r0 + r1)) = 6 ] && [ "$dup" = 0 ]'

# A study finished under mpirun, run again in one process: nothing to train, the same answer.
"$T" "${study[@]}" --jobs 2 --threads 2 --out "$tmp/two" >/dev/null 2>"$tmp/again.err"
check "run again without mpirun, it trains nothing and answers the same" \
    '! grep -q " train " "$tmp/again.err" && [ "$(table "$tmp/one/leaderboard.md")" = "$(table "$tmp/two/leaderboard.md")" ]'

# Successive halving: the same candidates survive under 2 ranks.
halve=(study "${common[@]}" --epochs 4 --grid "$tmp/grid.txt" --budget 60 --quiet)
"$T" "${halve[@]}" --jobs 2 --threads 2 --out "$tmp/h1" >/dev/null 2>&1 || bad "halving, one process"
"${MPIRUN[@]}" "$T" "${halve[@]}" --jobs 1 --threads 1 --out "$tmp/h2" >/dev/null 2>"$tmp/h2.err" || bad "halving, 2 ranks: $(tail -n 1 "$tmp/h2.err")"
check "--budget under mpirun prunes the candidates one process prunes" 'grep -q "(pruned)" "$tmp/h1/leaderboard.md" &&
    [ "$(table "$tmp/h1/leaderboard.md")" = "$(table "$tmp/h2/leaderboard.md")" ]'

# Stopped under mpirun mid-training, resumed in one process: the uninterrupted leaderboard. Each training
# is long enough (a few seconds) for the stop to reach it; mpirun's own exit status is 1.
long=(study "${common[@]}" --epochs 1500 --grid "$tmp/grid.txt" --seeds 1 --quiet)
"$T" "${long[@]}" --jobs 2 --threads 2 --out "$tmp/whole" >/dev/null 2>&1 || bad "uninterrupted study"
"${MPIRUN[@]}" "$T" "${long[@]}" --jobs 1 --threads 1 --out "$tmp/cut" >/dev/null 2>"$tmp/cut.err" &
pid=$!
for i in $(seq 1 200); do ls "$tmp"/cut/runs/*.partial/checkpoint.safetensors >/dev/null 2>&1 && break; sleep 0.1; done
kill -INT $pid
wait $pid
rc=$?
check "SIGINT to mpirun stops the study (exit $rc), a partial run left" '[ $rc -ne 0 ] && ls -d "$tmp"/cut/runs/*.partial >/dev/null 2>&1 && [ ! -e "$tmp/cut/study.json" ]'
"$T" "${long[@]}" --jobs 2 --threads 2 --out "$tmp/cut" >/dev/null 2>"$tmp/resume.err" || bad "resume: $(tail -n 1 "$tmp/resume.err")"
check "resumed in one process, it gives the uninterrupted leaderboard" '[ -n "$(table "$tmp/whole/leaderboard.md")" ] &&
    [ "$(table "$tmp/whole/leaderboard.md")" = "$(table "$tmp/cut/leaderboard.md")" ]'

# A candidate that fails on one rank fails the study on every rank, naming it.
printf 'ce = train --loss ce\nbroken = train --loss ldam:drw=99\n' >"$tmp/bad.txt"
if "${MPIRUN[@]}" "$T" study "${common[@]}" --epochs 2 --grid "$tmp/bad.txt" --jobs 1 --threads 1 --out "$tmp/bad" >/dev/null 2>"$tmp/bad.err"; then
    bad "a failing candidate: accepted"
else
    check "a failing candidate ends the study on both ranks, naming it" 'grep -q "study: candidate broken" "$tmp/bad.err" &&
        grep -q "failed on another rank" "$tmp/bad.err" && [ ! -e "$tmp/bad/study.json" ]'
fi
finish
