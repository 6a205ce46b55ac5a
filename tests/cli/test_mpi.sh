#!/usr/bin/env bash
# Under mpirun (Debian's Open MPI, as root on a 2-core machine: --allow-run-as-root --oversubscribe):
# the collectives of src/core/dist.c on 2 and 3 ranks, each rank checking the fixed-order sums.
# Skipped (one passing check that says so) when the build has no MPI.
set -u
cd "$(dirname "$0")/../.."
B=${TL_BUILD:-build}
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1 --mca btl self,vader)
if ! "$B/tailor" --version >/dev/null || ! command -v mpirun >/dev/null || ! grep -q TL_MPI "$B/.flags"; then
    ok "no MPI in this build: skipped"
    echo "$pass passed, $fail failed"; exit 0
fi
for np in 2 3; do
    out=$("${MPIRUN[@]}" -np $np "$B/tests/test_dist" 2>&1)
    n=$(grep -c '^2 passed, 0 failed' <<<"$out")
    [ "$n" = $np ] && ok "test_dist on $np ranks" || { echo "$out"; bad "test_dist on $np ranks"; }
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
