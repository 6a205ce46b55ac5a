#!/usr/bin/env bash
# Crash safety: a training run is SIGKILLed at 3 random moments (seeded: TL_KILL_SEED), each time
# continued with --resume. After every kill each file of the run folder must parse (config.json,
# every line of metrics.jsonl, checkpoint.safetensors; leftover "*.tmp-PID" files of an interrupted
# write are allowed there), and the finished run must hold no leftovers and the same model, bit for
# bit, and the same per-epoch losses as an uninterrupted run (every random stream derives from
# seed, epoch and step). Kill moments are fractions of the uninterrupted run's duration, so the test
# adapts to slow (sanitizer) builds.
. "$(dirname "$0")/lib.sh"
SEED=${TL_KILL_SEED:-9}
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# 4000 rows of 16 features, 4 long-tailed classes; many short epochs, so kills land at every stage
# (mid-epoch, while a checkpoint or metrics.jsonl is written, at the final evaluation).
awk 'BEGIN { srand(7); printf "f0"; for (j = 1; j < 16; j++) printf ",f%d", j; print ",label";
  for (i = 0; i < 4000; i++) { y = (i % 10 < 5) ? 0 : (i % 10 < 8) ? 1 : (i % 10 < 9) ? 2 : 3;
    for (j = 0; j < 16; j++) printf "%.4f,", (j % 4 == y) * 0.5 + rand(); print y } }' >"$tmp/train.csv"
args=(--data csv:"$tmp/train.csv" --val 50 --model mlp --hidden 64/32 --epochs 16 --batch 32 --threads 1 --quiet)

# check_folder DIR: every complete file parses; prints what it checked.
check_folder() {
    "$PY" - "$1" <<'PYEOF'
import json, os, struct, sys
d = sys.argv[1]
names = sorted(os.listdir(d))
for n in names:
    p = os.path.join(d, n)
    if ".tmp-" in n:
        continue  # an interrupted atomic write: never read by tailor, removed on --resume
    raw = open(p, "rb").read()
    if n.endswith(".json"):
        json.loads(raw)
    elif n.endswith(".jsonl"):
        lines = raw.decode().split("\n")
        assert lines[-1] == "", "metrics.jsonl does not end with a newline"
        for l in lines[:-1]:
            json.loads(l)
    elif n.endswith(".safetensors"):
        (hlen,) = struct.unpack("<Q", raw[:8])
        h = json.loads(raw[8:8 + hlen])
        h.pop("__metadata__", None)
        end = max([e["data_offsets"][1] for e in h.values()] + [0])
        assert end == len(raw) - 8 - hlen, f"{n}: data is {len(raw) - 8 - hlen} bytes, header says {end}"
    elif n.endswith(".png"):
        assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[-8:-4] == b"IEND", f"{n}: not a complete PNG"
    elif n.endswith(".md"):
        raw.decode()
    else:
        raise SystemExit(f"unexpected file {n}")
print(" ".join(names))
PYEOF
}

t0=$(ms)
$T train "${args[@]}" --out "$tmp/full" >"$tmp/out" 2>&1 || bad "uninterrupted run: $(tail -2 "$tmp/out")"
ref=$(( $(ms) - t0 ))
echo "uninterrupted run: $ref ms"

# Kill moments: 8..25 % of the uninterrupted run's time after each start, so three kills stay within
# one run's worth of progress even when the machine gets faster than it was for the reference run.
delays=($(awk -v s="$SEED" -v r="$ref" 'BEGIN { srand(s); for (k = 0; k < 3; k++) printf "%.3f ", r * (0.08 + 0.17 * rand()) / 1000 }'))
fresh=1 finished=0
for k in 0 1 2; do
    if [ $fresh -eq 1 ]; then $T train "${args[@]}" --out "$tmp/cut" >"$tmp/out" 2>&1 &
    else $T train --resume "$tmp/cut" --quiet >"$tmp/out" 2>&1 & fi
    pid=$!
    sleep "${delays[$k]}"
    kill -KILL $pid 2>/dev/null
    { wait $pid; } 2>/dev/null
    rc=$?
    if [ -e "$tmp/cut" ]; then
        # A resumed run that outran a later kill (the machine sped up) still tests every earlier kill.
        if [ $k -eq 0 ]; then bad "kill 1 at ${delays[0]} s: the run had already finished (exit $rc)"
        else ok "kill $((k + 1)) at ${delays[$k]} s: the resumed run had already finished"; finished=1; fi
        break
    fi
    if [ $rc -ne 137 ]; then bad "kill $((k + 1)): the run stopped on its own (exit $rc): $(tail -2 "$tmp/out")"; break; fi
    if [ ! -f "$tmp/cut.partial/config.json" ]; then
        # Killed before the run folder was set up: nothing to resume, start again.
        rm -rf "$tmp/cut.partial"; fresh=1
        ok "kill $((k + 1)) at ${delays[$k]} s (before the run folder existed)"
        continue
    fi
    fresh=0
    if files=$(check_folder "$tmp/cut.partial" 2>&1); then ok "kill $((k + 1)) at ${delays[$k]} s: every file parses ($files)"
    else bad "kill $((k + 1)) at ${delays[$k]} s: $files"; fi
done

if [ $finished -eq 1 ]; then rc=0
elif [ $fresh -eq 1 ]; then $T train "${args[@]}" --out "$tmp/cut" >"$tmp/out" 2>&1; rc=$?
else $T train --resume "$tmp/cut" --quiet >"$tmp/out" 2>&1; rc=$?; fi
if [ $rc -eq 0 ] && [ -d "$tmp/cut" ] && [ ! -e "$tmp/cut.partial" ]; then ok "resume completes"; else bad "resume (exit $rc): $(tail -2 "$tmp/out")"; fi
left=$(ls "$tmp/cut" 2>/dev/null | grep -c '\.tmp-')
if [ "$left" -eq 0 ] && check_folder "$tmp/cut" >/dev/null 2>&1; then ok "finished folder: every file parses, no leftovers"
else bad "finished folder: $left leftover .tmp- files or a file that does not parse"; fi
if cmp -s "$tmp/full/model.safetensors" "$tmp/cut/model.safetensors"; then ok "model bit-identical to the uninterrupted run"
else bad "model differs from the uninterrupted run"; fi
if "$PY" - "$tmp/full/metrics.jsonl" "$tmp/cut/metrics.jsonl" <<'PYEOF'
import json, sys
keys = ("epoch", "lr", "train_loss", "train_acc", "val_accuracy", "val_balanced_accuracy")
a, b = ([{k: json.loads(l)[k] for k in keys} for l in open(p)] for p in sys.argv[1:])
sys.exit(0 if a == b and len(a) == 16 else 1)
PYEOF
then ok "metrics.jsonl: the same 16 epochs as the uninterrupted run"; else bad "metrics.jsonl differs from the uninterrupted run"; fi

finish
