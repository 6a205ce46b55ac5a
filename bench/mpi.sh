#!/usr/bin/env bash
# Issue 17's speed (not a test): `tailor train` images/s as 2 ranks x 1 thread (mpirun) against 1
# process x 2 threads, for cnn and resnet32 (batch 128, Fashion-MNIST's exp:100 view, EPOCHS epochs),
# the two sides alternating in each of ROUNDS rounds (medians); the time rank 0 spent per step in the
# collectives (the gradient sum, the BN synchronisation; report.json's run "dist"); then the scaling
# model of bench/mpi_model.py from these measurements. Needs the data-parallel training step (with
# each rank training on the whole batch, the 2-rank figure means nothing). Prints markdown.
# Usage: bench/mpi.sh [OUT]   (run `make` first; env ROUNDS=3, EPOCHS=1, ARCHS="cnn resnet32")
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/tailor-bench-mpi}
ROUNDS=${ROUNDS:-3} EPOCHS=${EPOCHS:-1} ARCHS=${ARCHS:-cnn resnet32}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY --mca btl self,vader)
RECIPE="--data fashion-mnist --lt exp:100 --model ARCH --epochs $EPOCHS --batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine --quiet"
mkdir -p "$OUT"

# figures RUN: "images/s seconds_in_collectives bytes_sent steps" of a finished run.
figures() {
    /usr/bin/python3 - "$1" <<'PYEOF'
import json, struct, sys
run = sys.argv[1]
r = json.load(open(f"{run}/report.json"))["run"]
d = r.get("dist", {"seconds_in_collectives": 0, "bytes_sent": 0})
raw = open(f"{run}/checkpoint.safetensors", "rb").read(1 << 20)
meta = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]
print(r["images_per_second"], d["seconds_in_collectives"], d["bytes_sent"], meta["opt_steps"])
PYEOF
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| model | 1 process x 2 threads img/s | 2 ranks x 1 thread img/s | ratio | collectives ms/step | MB sent/step (rank 0) |"
echo "|:--|--:|--:|--:|--:|--:|"
for arch in $ARCHS; do
    one="" two="" coll="" sent=""
    for r in $(seq "$ROUNDS"); do
        rm -rf "$OUT/$arch-1x2" "$OUT/$arch-2x1"
        # shellcheck disable=SC2086  # RECIPE is a list of words
        OMP_NUM_THREADS=2 build/tailor train ${RECIPE/ARCH/$arch} --threads 2 --out "$OUT/$arch-1x2" >/dev/null
        # shellcheck disable=SC2086
        "${MPIRUN[@]}" -np 2 build/tailor train ${RECIPE/ARCH/$arch} --threads 1 --out "$OUT/$arch-2x1" >/dev/null
        read -r ips _ _ _ < <(figures "$OUT/$arch-1x2")
        read -r ips2 secs bytes steps < <(figures "$OUT/$arch-2x1")
        one+=" $ips" two+=" $ips2"
        coll+=" $(awk -v s="$secs" -v n="$steps" 'BEGIN { print 1000 * s / n }')"
        sent+=" $(awk -v b="$bytes" -v n="$steps" 'BEGIN { print b / n / 1e6 }')"
    done
    med() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    a=$(med "$one") b=$(med "$two")
    awk -v A="$arch" -v a="$a" -v b="$b" -v c="$(med "$coll")" -v s="$(med "$sent")" \
        'BEGIN { printf "| %s | %.0f | %.0f | %.2f | %.2f | %.2f |\n", A, a, b, b / a, c, s }'
    echo "$arch $a $(med "$coll") $OUT/$arch-1x2" >>"$OUT/measured.txt"
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
while read -r arch ips coll run; do
    /usr/bin/python3 bench/mpi_model.py "$arch" "$ips" "$coll" "$run"
done <"$OUT/measured.txt"
rm -f "$OUT/measured.txt"
