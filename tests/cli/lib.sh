# Shared preamble and helpers of the CLI tests, sourced first by every tests/cli/test_*.sh (it is not
# a test itself: tests/run.sh runs test_*.sh only). It moves to the repository root and sets T (the
# tailor command of the build in TL_BUILD), PY (the Python interpreter) and tmp (a scratch folder,
# removed on exit), and gives ok/bad/check to count results, expect_error for bad-input cases,
# fmnist_view for a small image data set, and finish for the "N passed, N failed" last line that
# tests/run.sh parses.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
T=${TL_BUILD:-build}/tailor
PY=${PY:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }  # check NAME CONDITION

# expect_error NAME PATTERN CMD...: CMD exits non-zero, writes exactly one stderr line, which matches
# PATTERN (grep), and leaves no run folder: neither DIR nor DIR.partial, where DIR is the command's own
# `--out DIR`, or EXPECT_DIR when set (for a command without --out, or one whose --out names a folder
# that exists already: `EXPECT_DIR=... expect_error ...`).
expect_error() {
    local name=$1 pat=$2; shift 2
    local dir=${EXPECT_DIR:-} prev= a
    if [ -z "$dir" ]; then
        for a in "$@"; do [ "$prev" = --out ] && dir=$a; prev=$a; done
    fi
    if [ -z "$dir" ]; then bad "$name: no --out in the command and no EXPECT_DIR"; return; fi
    "$@" >"$tmp/expect_error.out" 2>"$tmp/expect_error.err"
    local rc=$? lines
    lines=$(wc -l <"$tmp/expect_error.err")
    if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && grep -q -- "$pat" "$tmp/expect_error.err" && [ ! -e "$dir" ] && [ ! -e "$dir.partial" ]; then
        ok "$name"
    else
        bad "$name (exit $rc, $lines lines$( ([ -e "$dir" ] || [ -e "$dir.partial" ]) && echo ", $dir left")): $(cat "$tmp/expect_error.err")"
    fi
}

# fmnist_view DIR: a small Fashion-MNIST view for idx:DIR, the first 500 t10k images for training
# and the next 200 for testing.
fmnist_view() {
    mkdir -p "$1"
    "$PY" - "$1" <<'PYEOF'
import gzip, sys
src, out = "/usr/share/datasets/fashion-mnist/", sys.argv[1]
img = gzip.open(src + "t10k-images-idx3-ubyte.gz").read()
lab = gzip.open(src + "t10k-labels-idx1-ubyte.gz").read()
def write(name, raw, head, size, lo, n):
    open(f"{out}/{name}", "wb").write(raw[:4] + n.to_bytes(4, "big") + raw[8:head] + raw[head + size * lo:head + size * (lo + n)])
write("train-images-idx3-ubyte", img, 16, 784, 0, 500)
write("train-labels-idx1-ubyte", lab, 8, 1, 0, 500)
write("t10k-images-idx3-ubyte", img, 16, 784, 500, 200)
write("t10k-labels-idx1-ubyte", lab, 8, 1, 500, 200)
PYEOF
}

# finish: the summary line, then exit non-zero if anything failed.
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0
    exit 1
}
