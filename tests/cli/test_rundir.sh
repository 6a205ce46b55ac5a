#!/usr/bin/env bash
# The run folder's life cycle (src/run/run_dir.c): once training has started, no failure throws the
# run away, and every message says what happened and what to do. Cases: the disk fills during the
# final writes (a small tmpfs), something appears at the final name while training runs (a folder
# with a file in it, an empty folder, a dangling symbolic link), two writers of one folder (a lock
# held with flock(1), two resumes at once, eval, plot or distill into a locked folder), and resume
# options that differ from the run's settings.
. "$(dirname "$0")/lib.sh"
mnt=$tmp/mnt
trap 'mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; rm -rf "$tmp"' EXIT

# The data of test_kill.sh: 4000 rows of 16 features, 4 long-tailed classes.
awk 'BEGIN { srand(7); printf "f0"; for (j = 1; j < 16; j++) printf ",f%d", j; print ",label";
  for (i = 0; i < 4000; i++) { y = (i % 10 < 5) ? 0 : (i % 10 < 8) ? 1 : (i % 10 < 9) ? 2 : 3;
    for (j = 0; j < 16; j++) printf "%.4f,", (j % 4 == y) * 0.5 + rand(); print y } }' >"$tmp/train.csv"
args=(--data csv:"$tmp/train.csv" --val 50 --model mlp --hidden 64/32 --batch 32 --threads 1 --quiet)
short=("${args[@]}" --epochs 16)
long=("${args[@]}" --epochs 60)   # long enough for something to happen while it trains

# one_line NAME RC ERRFILE PATTERN...: the command failed with exactly one stderr line matching every pattern.
one_line() {
    local name=$1 rc=$2 file=$3 p; shift 3
    local lines; lines=$(wc -l <"$file")
    if [ "$rc" -eq 0 ] || [ "$lines" -ne 1 ]; then bad "$name (exit $rc, $lines lines): $(cat "$file")"; return; fi
    for p in "$@"; do grep -qF -- "$p" "$file" || { bad "$name: no '$p' in: $(cat "$file")"; return; }; done
    ok "$name"
}
# wait_file PATH: until PATH exists (60 s at most).
wait_file() { local i; for i in $(seq 3000); do [ -e "$1" ] && return 0; sleep 0.02; done; return 1; }
# complete_pngs DIR: every PNG in DIR ends with its IEND chunk (cairo does not report a short write).
complete_pngs() { "$PY" -c 'import glob, sys
sys.exit(any(open(p, "rb").read()[-12:] != b"\0\0\0\0IEND\xaeB`\x82" for p in glob.glob(sys.argv[1] + "/*.png")))' "$1"; }
# no_tmp DIR: no "*.tmp-PID" leftover of an interrupted write in DIR.
no_tmp() { ! ls "$1" | grep -q '\.tmp-'; }

$T train "${short[@]}" --out "$tmp/ref16" >/dev/null 2>"$tmp/err" || bad "reference run: $(cat "$tmp/err")"
$T train "${long[@]}" --out "$tmp/ref60" >/dev/null 2>"$tmp/err" || bad "long reference run: $(cat "$tmp/err")"

# --- An interrupted run (Ctrl-C once its first checkpoint is written) for the resume cases.
cut=$tmp/cut
$T train "${long[@]}" --out "$cut" >/dev/null 2>"$tmp/cut.err" &
pid=$!
wait_file "$cut.partial/checkpoint.safetensors"
kill -INT $pid
wait $pid
rc=$?
check "Ctrl-C keeps a resumable run (exit $rc)" '[ $rc -eq 130 ] && [ -f "$cut.partial/checkpoint.safetensors" ] && [ ! -e "$cut" ]'
cp "$cut.partial/checkpoint.safetensors" "$tmp/cut.ckpt"
unchanged() { cmp -s "$cut.partial/checkpoint.safetensors" "$tmp/cut.ckpt" && no_tmp "$cut.partial" && [ ! -e "$cut" ]; }

# --- Resume options that differ from the run's settings are refused, naming each one.
$T train --resume "$cut" --epochs 5 --lt exp:10 >/dev/null 2>"$tmp/err"
one_line "resume --epochs 5 --lt exp:10 refused" $? "$tmp/err" "--epochs 5 (the run's: '60')" "--lt exp:10 (the run's: 'none')" \
    "tailor train --config $cut.partial/config.json --lt exp:10 --epochs 5 --out NEW"
check "refused resume leaves the run as it was" unchanged
$T train --resume "$cut" --threads=2 >/dev/null 2>"$tmp/err"
one_line "resume --threads=2 refused" $? "$tmp/err" "--threads 2 (the run's: '1')"
$T train --resume "$cut" --out "$tmp/elsewhere" >/dev/null 2>"$tmp/err"
one_line "resume --out elsewhere refused" $? "$tmp/err" "--out $tmp/elsewhere conflicts" "drop --out"
check "refused resumes create nothing" '[ ! -e "$tmp/elsewhere" ] && [ ! -e "$tmp/elsewhere.partial" ] && unchanged'

# --- A second writer is refused while the folder is locked (flock(1) on fd 9 stands for it).
exec 9<"$cut.partial"
flock -x 9
$T train --resume "$cut" >/dev/null 2>"$tmp/err"
one_line "resume of a locked run refused" $? "$tmp/err" "--resume $cut.partial: another tailor process is writing it"
$T train "${long[@]}" --out "$cut" >/dev/null 2>"$tmp/err"
one_line "new run into a locked --out refused" $? "$tmp/err" "--out $cut.partial: another tailor process is writing it"
exec 9<&-
check "refused writers leave the run as it was" unchanged
$T train "${long[@]}" --out "$cut" >/dev/null 2>"$tmp/err"
one_line "new run onto an interrupted one refused" $? "$tmp/err" "--out $cut: $cut.partial is there (an interrupted run: continue it with tailor train --resume $cut, or remove it)"

# --- Two resumes at once: the second is refused, the first finishes the run as if never stopped
# (options that repeat the run's values are accepted).
$T train --resume "$cut" --epochs 60 --quiet >/dev/null 2>"$tmp/a.err" &
pid=$!
# Until it holds its lock (looked up in /proc/locks: taking the lock to test it would race it).
for i in $(seq 3000); do grep -qE "FLOCK +ADVISORY +WRITE +$pid " /proc/locks && break; sleep 0.01; done
$T train --resume "$cut" >/dev/null 2>"$tmp/err"
one_line "second concurrent resume refused" $? "$tmp/err" "another tailor process is writing it"
wait $pid
rc=$?
check "first resume finishes (exit $rc)" '[ $rc -eq 0 ] && [ -d "$cut" ] && [ ! -e "$cut.partial" ] && no_tmp "$cut"'
check "resumed model bit-identical to the uninterrupted run" 'cmp -s "$cut/model.safetensors" "$tmp/ref60/model.safetensors"'

# --- eval into a run (RUN/eval) takes the run's lock.
exec 9<"$tmp/ref60"
flock -x 9
EXPECT_DIR=$tmp/ref60/eval expect_error "eval into a locked run refused" "--run $tmp/ref60: another tailor process is writing it" \
    $T eval --run "$tmp/ref60"
EXPECT_DIR=$tmp/ref60/weight_norms.png expect_error "plot into a locked run refused" "--run $tmp/ref60: another tailor process is writing it" \
    $T plot weights --run "$tmp/ref60"
exec 9<&-
mkdir "$tmp/chain"
exec 9<"$tmp/chain"
flock -x 9
EXPECT_DIR=$tmp/chain/gen-0 expect_error "distill into a locked chain refused" "--out $tmp/chain: another tailor process is writing it" \
    $T distill --generations 1 --distill kd "${short[@]}" --out "$tmp/chain"
exec 9<&-
$T eval --run "$tmp/ref60" >/dev/null 2>"$tmp/err"
rc=$?
check "eval once the lock is free (exit $rc)" '[ $rc -eq 0 ] && [ -f "$tmp/ref60/eval/report.json" ]'

# --- --out is checked up front: a dangling symbolic link counts as taken.
ln -s "$tmp/nowhere" "$tmp/link"
EXPECT_DIR=$tmp/link.x expect_error "--out a dangling symlink refused" "--out $tmp/link: already exists (a dangling symbolic link" \
    $T train "${short[@]}" --out "$tmp/link"

# --- Something appears at the final name while the run trains: the rename is refused with the
# reason, and the finished run stays whole in DIR.partial, ready to be moved into place.
for what in "folder with a file" "empty folder" "dangling symlink"; do
    d=$tmp/late-${what// /-}
    $T train "${long[@]}" --out "$d" >/dev/null 2>"$tmp/late.err" &
    pid=$!
    wait_file "$d.partial/checkpoint.safetensors"
    case $what in
        folder*) mkdir "$d" && echo "someone else's" >"$d/note" ;;
        empty*) mkdir "$d" ;;
        dangling*) ln -s "$tmp/nowhere" "$d" ;;
    esac
    wait $pid
    one_line "$what at the final name: rename refused" $? "$tmp/late.err" "cannot rename $d.partial into place: File exists" \
        "the finished folder is kept as $d.partial" "mv $d.partial $d"
    check "$what: the finished run is kept whole" \
        '[ -f "$d.partial/model.safetensors" ] && [ -f "$d.partial/report.json" ] && [ -f "$d.partial/checkpoint.safetensors" ] && no_tmp "$d.partial"'
    case $what in
        folder*) check "$what: left as it was" '[ "$(cat "$d/note")" = "someone else'"'"'s" ]' ;;
        empty*) check "$what: left as it was" '[ -d "$d" ] && [ -z "$(ls -A "$d")" ]' ;;
        dangling*) check "$what: left as it was" '[ -L "$d" ] && [ ! -e "$d" ]' ;;
    esac
done
d=$tmp/late-folder-with-a-file
mv "$d" "$d.theirs" && mv "$d.partial" "$d"
check "the kept run, moved into place, is the run" 'cmp -s "$d/model.safetensors" "$tmp/ref60/model.safetensors"'
# The other way to finish it: --resume, refused while the name is taken, then redoing the final writes.
d=$tmp/late-empty-folder
$T train --resume "$d" >/dev/null 2>"$tmp/err"
one_line "resume while the final name is taken refused" $? "$tmp/err" "--resume $d: already exists (a folder); move it away"
rmdir "$d"
$T train --resume "$d" >/dev/null 2>"$tmp/err"
rc=$?
check "resume once it is free finishes the run (exit $rc)" \
    '[ $rc -eq 0 ] && [ ! -e "$d.partial" ] && cmp -s "$d/model.safetensors" "$tmp/ref60/model.safetensors" && no_tmp "$d"'

# --- The disk fills during the final writes (a tmpfs with room for training only): the checkpoint
# stays and, once there is room, --resume finishes the same run.
mkdir "$mnt"
if mount -t tmpfs -o size=4m tmpfs "$mnt" 2>"$tmp/err"; then
    # Room for training: config.json, metrics.jsonl and the checkpoint, the last two twice (each is
    # rewritten under a temporary name), in 4 KiB pages, plus 8 KiB; the final writes need more.
    pages() { echo $(( ($(stat -c %s "$1") + 4095) / 4096 )); }
    r=$tmp/ref16
    room=$(( 4 * (2 + $(pages "$r/config.json") + 2 * $(pages "$r/metrics.jsonl") + 2 * $(pages "$r/checkpoint.safetensors")) ))
    final=0
    for f in "$r"/*; do final=$((final + 4 * $(pages "$f"))); done
    check "the final writes need more than training (${final} KiB > ${room} KiB)" '[ $final -gt $room ]'
    mount -o remount,size=${room}k "$mnt"
    $T train "${short[@]}" --out "$mnt/run" >/dev/null 2>"$tmp/err"
    one_line "disk full in the final writes: clear message" $? "$tmp/err" "No space left on device" \
        "the run is kept in $mnt/run.partial" "tailor train --resume $mnt/run"
    check "disk full: it was a final write that failed ($(cut -c1-90 "$tmp/err"))" \
        'grep -qE "^tailor: $mnt/run.partial/(report|per_class|confusion|training_curves|model)" "$tmp/err"'
    check "disk full: the checkpoint is kept, nothing half-written" \
        '[ -f "$mnt/run.partial/checkpoint.safetensors" ] && [ -f "$mnt/run.partial/config.json" ] && no_tmp "$mnt/run.partial" && [ ! -e "$mnt/run" ] && complete_pngs "$mnt/run.partial"'
    mount -o remount,size=4m "$mnt"
    $T train --resume "$mnt/run" >/dev/null 2>"$tmp/err"
    rc=$?
    check "once there is room, --resume finishes it (exit $rc $(cat "$tmp/err"))" '[ $rc -eq 0 ] && [ -d "$mnt/run" ] && [ ! -e "$mnt/run.partial" ]'
    check "that run's model bit-identical to the uninterrupted one" 'cmp -s "$mnt/run/model.safetensors" "$r/model.safetensors"'
    # retrain: a disk that fills after the new model is written (at its last figure) keeps the folder;
    # one that fills before leaves nothing (the stage-1 run is untouched, rerunning takes seconds).
    $T retrain --run "$r" --method crt --out "$tmp/rt" --quiet >/dev/null 2>"$tmp/err" || bad "reference retrain: $(cat "$tmp/err")"
    room=0
    for f in "$tmp/rt"/*; do [ "${f##*/}" = weight_norms.png ] || room=$((room + 4 * $(pages "$f"))); done
    room=$((room + 4 * ($(pages "$tmp/rt/report.json") + $(pages "$tmp/rt/report.md") + 1)))  # report.* are rewritten once
    rm -rf "$mnt"/*
    mount -o remount,size=${room}k "$mnt"
    $T retrain --run "$r" --method crt --out "$mnt/rt" --quiet >/dev/null 2>"$tmp/err"
    one_line "retrain, disk full after its model: clear message" $? "$tmp/err" "weight_norms.png: cannot write: No space left on device" \
        "the retrained model is kept in $mnt/rt.partial" "mv $mnt/rt.partial $mnt/rt"
    check "retrain, disk full after its model: model kept" \
        'cmp -s "$mnt/rt.partial/model.safetensors" "$tmp/rt/model.safetensors" && no_tmp "$mnt/rt.partial" && complete_pngs "$mnt/rt.partial"'
    rm -rf "$mnt"/*
    mount -o remount,size=16k "$mnt"
    $T retrain --run "$r" --method crt --out "$mnt/rt" --quiet >/dev/null 2>"$tmp/err"
    one_line "retrain, disk full before its model: clear message" $? "$tmp/err" "No space left on device"
    check "retrain, disk full before its model: nothing left" '[ -z "$(ls -A "$mnt")" ]'
    umount "$mnt"
else
    bad "cannot mount a tmpfs for the disk-full case (run as root): $(cat "$tmp/err")"
fi

finish
