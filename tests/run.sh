#!/usr/bin/env bash
# Runs the whole suite against an existing build: every C unit test binary, every PyTorch parity
# script, every CLI test and every test of the Python package (tests/python, on the build's
# libtailor.so.0). Each prints "N passed, N failed" last; this sums them, prints the total
# as its own last line and exits non-zero if anything failed.
# Usage: tests/run.sh [BUILD_DIR]   (default build; build-san is the `make SAN=1` build)
# Under the sanitizer build every C program (the parity scripts' dump programs and the tailor command
# included) runs with ASan + UBSan + LeakSanitizer: any report makes its test fail. The CLI test then
# trains on a smaller Fashion-MNIST view (TL_CLI_LT) to stay quick under ASan, with every check kept.
# The Python tests load the instrumented library into the interpreter, with the ASan runtime
# preloaded and leak checking off (the interpreter does not free its own memory at exit).
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
export TL_BUILD=$BUILD PY=${PY:-/usr/bin/python3} PYTHONPATH=$PWD/python OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TAILOR_LIB=$PWD/$BUILD/libtailor.so.0
pyrun=("$PY")
if [ "$(basename "$BUILD")" = build-san ]; then
    export TL_CLI_LT=${TL_CLI_LT:-exp:1000}
    pyrun=(env LD_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0 "$PY")
fi
passed=0 failed=0 log=$(mktemp)
run() {  # run NAME CMD...
    echo "== $1"
    local t0=$SECONDS
    "${@:2}" >"$log" 2>&1
    local rc=$? line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        cat "$log"; echo "FAIL $1 (exit $rc, no summary line)"; failed=$((failed + 1)); return
    fi
    local p f
    p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    [ "$f" -ne 0 ] && cat "$log"
    echo "   $line ($((SECONDS - t0)) s)"
    passed=$((passed + p)); failed=$((failed + f))
}
for t in "$BUILD"/tests/test_*; do run "$(basename "$t")" "$t"; done
for t in tests/parity/test_*.py; do [ -e "$t" ] && run "$(basename "$t")" "$PY" "$t"; done
for t in tests/cli/test_*.sh; do [ -e "$t" ] && run "$(basename "$t")" bash "$t"; done
# The package and the command agree bit for bit under the same OpenBLAS kernels: the Python tests get
# the ones the command chooses for this CPU (docs/python.md, "Finding the library").
core=$(OPENBLAS_VERBOSE=2 "$BUILD/tailor" --version 2>&1 | grep -o 'Core: [A-Za-z0-9]*' | tail -n 1 | cut -d' ' -f2)
pyrun=(env OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$core}" "${pyrun[@]}")
for t in tests/python/test_*.py; do [ -e "$t" ] && run "$(basename "$t")" "${pyrun[@]}" "$t"; done
rm -f "$log"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
