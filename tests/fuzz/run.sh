#!/usr/bin/env bash
# Builds the libFuzzer targets (make fuzz -> build-fuzz/) and runs each for SECONDS (default 6),
# starting from its seed corpus tests/fuzz/corpus/<name>/ plus what earlier runs found
# (build-fuzz/corpus/<name>/, where new inputs go; the seed corpus is never written).
# A crash, leak, sanitizer report, timeout or memory blow-up fails the target; its input is kept as
# build-fuzz/<name>-crash-*. Prints one line per target and "N passed, N failed" last.
# Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
set -u
cd "$(dirname "$0")/../.."
secs=${1:-6}; shift 2>/dev/null || true
make -s -j"$(nproc)" fuzz >/dev/null || { echo "fuzz build failed"; echo "0 passed, 1 failed"; exit 1; }
targets=("$@")
[ ${#targets[@]} -eq 0 ] && for f in tests/fuzz/fuzz_*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz_}"); done
passed=0 failed=0
for t in "${targets[@]}"; do
    mkdir -p "build-fuzz/corpus/$t"
    log=build-fuzz/fuzz_$t.log
    # -rss_limit_mb also caps one malloc (2 GiB): an input that makes a parser ask for more is a finding.
    "build-fuzz/fuzz_$t" "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build-fuzz/$t-" >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1)); echo "ok   fuzz_$t: ${secs} s, ${execs:-?} executions, ${cov:-cov: ?}"
    else
        failed=$((failed + 1)); echo "FAIL fuzz_$t (exit $rc), see $log:"
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
    fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
