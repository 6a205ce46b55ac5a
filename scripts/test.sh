#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite twice: on the normal build and on
# the AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer) build (make SAN=1), then a
# short run of every fuzz target (tests/fuzz/run.sh, one test per target). C unit tests (gradient
# checks), PyTorch parity tests and CLI tests. The last line is the combined "N passed, N failed";
# the exit code is the verdict.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test || exit 1
make -s -j"$(nproc)" SAN=1 all || { echo "sanitizer build failed"; echo "0 passed, 1 failed"; exit 1; }
passed=0 failed=0 log=$(mktemp)
trap 'rm -f "$log"' EXIT
stage() {  # stage NAME CMD...: runs a stage that ends with "N passed, N failed" and adds it up
    local t0=$SECONDS rc line
    echo "==== $1"
    "${@:2}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    local p=${line%% *} f
    f=$(echo "$line" | awk '{print $3}')
    [ -z "$line" ] && { p=0; f=1; }
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    echo "==== $1: $p passed, $f failed in $((SECONDS - t0)) s"
}
stage "normal build" tests/run.sh build
stage "sanitizer build (ASan + UBSan + LSan)" tests/run.sh build-san
stage "fuzz targets, 5 s each" tests/fuzz/run.sh 5
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
