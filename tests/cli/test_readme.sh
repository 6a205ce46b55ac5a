#!/usr/bin/env bash
# README.md's "Using it" block works as typed after the main job. A copy of scripts/main.sh runs in a
# scratch folder whose build/ is the build under test (TL_NO_SETUP=1), then every command of the
# block runs there, in order, and must succeed. To stay quick both train one epoch on a small
# Fashion-MNIST subset (idx:DIR, the first 2000 training and 500 test images): the main job through
# TL_MAIN_ARGS, the block by giving its train and distill commands that --data and --epochs 1
# (after its own options, so they win; a line with drw=E gets --epochs E+1, the fewest that reach
# the deferred re-weighting); nothing else in the block is changed. Also: a second main job
# keeps the first one's runs, and training shows its progress within an epoch on a terminal.
. "$(dirname "$0")/lib.sh"
build=$(cd "${TL_BUILD:-build}" && pwd)
w=$tmp/w
mkdir -p "$w/scripts" "$tmp/idx"
cp scripts/main.sh "$w/scripts/"
ln -s "$build" "$w/build"
"$PY" - "$tmp/idx" <<'PYEOF'
import gzip, sys
src, out = "/usr/share/datasets/fashion-mnist/", sys.argv[1]
def write(name, head, size, n):
    raw = gzip.open(src + name + ".gz").read()
    open(f"{out}/{name}", "wb").write(raw[:4] + n.to_bytes(4, "big") + raw[8:head] + raw[head:head + size * n])
write("train-images-idx3-ubyte", 16, 784, 2000)
write("train-labels-idx1-ubyte", 8, 1, 2000)
write("t10k-images-idx3-ubyte", 16, 784, 500)
write("t10k-labels-idx1-ubyte", 8, 1, 500)
PYEOF
quick="--data idx:$tmp/idx --epochs 1"

TL_NO_SETUP=1 TL_MAIN_ARGS="$quick" bash "$w/scripts/main.sh" >"$tmp/main.out" 2>&1
rc=$?
check "main job (exit $rc): $(tail -n 1 "$tmp/main.out")" \
    '[ $rc -eq 0 ] && [ -f "$w/runs/ce/model.safetensors" ] && [ -f "$w/runs/balanced-softmax/model.safetensors" ] && grep -q "balanced softmax" "$tmp/main.out"'

# The block: the lines between "```sh" and "```" after "## Using it"; comments are dropped.
mapfile -t block < <(awk '/^## Using it/ { u = 1 } u && /^```sh/ { b = 1; next } b && /^```/ { exit } b' README.md)
check "README's Using it block found (${#block[@]} lines)" '[ ${#block[@]} -ge 10 ]'
for line in "${block[@]}"; do
    cmd=$(sed -E 's/[[:space:]]+#[[:space:]].*$//' <<<"$line")
    [ -z "$cmd" ] && continue
    if [[ $cmd =~ ^build/tailor\ (train|distill)\  ]]; then cmd="$cmd $quick"; fi
    # a deferred re-weighting must start before the last epoch: one epoch past it
    if [[ $cmd =~ drw=([0-9]+) ]]; then cmd="$cmd --epochs $((BASH_REMATCH[1] + 1))"; fi
    t0=$SECONDS; (cd "$w" && bash -c "$cmd") >"$tmp/line.out" 2>&1
    rc=$?
    check "as typed: ${line:0:90} ($((SECONDS - t0)) s, exit $rc$([ $rc -ne 0 ] && echo ": $(tail -n 1 "$tmp/line.out")"))" '[ $rc -eq 0 ]'
done
check "predict wrote a CSV row per test image" '[ "$(wc -l <"$w/predictions.csv")" -eq 10001 ]'

# The "Your own photos" block, in the same folder: photos/ and new-photos/ made by tests/images.py,
# weights.pth a torchvision resnet18's state_dict; its train commands get --epochs 1 --size 32.
$PY tests/images.py collection "$tmp/coll" --classes 3 --scale 0.4 && cp -r "$tmp/coll/folder" "$w/photos" &&
    cp -r "$tmp/coll/folder/test" "$w/new-photos" && cp -r python "$w/python" &&
    $PY -c "import torch, torchvision; torch.save(torchvision.models.resnet18().state_dict(), '$w/weights.pth')"
mapfile -t photos < <(awk '/^## Your own photos/ { u = 1 } u && /^```sh/ { b = 1; next } b && /^```/ { exit } b' README.md)
check "README's photos block found (${#photos[@]} lines)" '[ ${#photos[@]} -ge 4 ]'
for line in "${photos[@]}"; do
    cmd=$(sed -E 's/[[:space:]]+#[[:space:]].*$//; s/^python3 /"$PY" /' <<<"$line")
    [ -z "$cmd" ] && continue
    if [[ $cmd =~ ^build/tailor\ train\  ]]; then cmd="$cmd --epochs 1 --size 32"; fi
    t0=$SECONDS; (cd "$w" && PY=$PY bash -c "$cmd") >"$tmp/line.out" 2>&1
    rc=$?
    check "as typed: ${line:0:90} ($((SECONDS - t0)) s, exit $rc$([ $rc -ne 0 ] && echo ": $(tail -n 1 "$tmp/line.out")"))" '[ $rc -eq 0 ]'
done
check "predict wrote a row per new photo" '[ "$(cd "$w" && build/tailor predict --run runs/photos --input new-photos/ | wc -l)" -eq 10 ]'

# A second main job keeps the first one's runs under a dated name.
TL_NO_SETUP=1 TL_MAIN_ARGS="$quick" bash "$w/scripts/main.sh" >"$tmp/main.out" 2>&1
rc=$?
check "second main job (exit $rc) keeps the earlier runs" \
    '[ $rc -eq 0 ] && ls -d "$w"/runs/ce-2* >/dev/null 2>&1 && [ -f "$w/runs/ce/model.safetensors" ] && grep -q "the earlier runs/ce is kept as" "$tmp/main.out"'

# On a terminal (script(1) gives it one) the bar is redrawn within the epoch: "step k/N" before the epoch line.
script -qec "$build/tailor train --data idx:$tmp/idx --epochs 1 --batch 32 --threads 1 --out $tmp/tty" /dev/null >"$tmp/tty.out" 2>&1
check "progress within an epoch on a terminal" 'grep -qE "step [0-9]+/[0-9]+ .*ETA" "$tmp/tty.out" && grep -q "epoch 1/1  lr" "$tmp/tty.out"'
$build/tailor train --data idx:$tmp/idx --epochs 1 --batch 32 --threads 1 --out "$tmp/notty" 2>"$tmp/notty.err" >/dev/null
check "no bar when stderr is not a terminal" '! grep -q "step [0-9]" "$tmp/notty.err" && grep -q "epoch 1/1  lr" "$tmp/notty.err"'

finish
