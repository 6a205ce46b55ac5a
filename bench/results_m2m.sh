#!/usr/bin/env bash
# M2m benchmark (docs/methods.md §12): cnn on Fashion-MNIST --lt exp:100 --val 100 with the recipe of
# bench/results_rebal.sh, seeds 0 1 2. Per seed: the ERM baseline (plain CE, instance sampling), which is
# also M2m's frozen classifier g, then M2m trained from scratch with the same recipe and
# --synth m2m:start=E --teacher <that seed's baseline> (E = epoch 160 of 200 scaled, 10 of 12).
#   bench/results_m2m.sh OUT tailor   train the runs that are missing (seed-major; resumable: a finished
#                                     run folder is kept, an interrupted one is resumed)
#   bench/results_m2m.sh OUT table    print the Markdown table (mean ± sample std over the seeds found)
# Env: EPOCHS (12), THREADS (2), SEEDS ("0 1 2"). Run `make` first. Generation costs steps + 1 forwards
# and steps backwards of both networks per batch with a slot, so M2m's last epochs run ~20x slower than ERM's.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_modes "tailor|table" "$@"
START=$(( (2 * 160 * EPOCHS + 200) / 400 ))   # docs/methods.md §0.6: epoch 160 of 200, rounded half up (10 of 12)
recipe="$VIEW --model cnn --epochs $EPOCHS $SGD --loss ce --threads $THREADS --quiet"
case $mode in
tailor)
    for s in $SEEDS; do
        bench_run "$out/erm-s$s" "build/tailor train $recipe --seed $s --out $out/erm-s$s"
        bench_run "$out/m2m-s$s" "build/tailor train $recipe --seed $s --synth m2m:start=$START --teacher $out/erm-s$s --out $out/m2m-s$s"
        # the ablation: the same schedule and sampler, nothing generated is accepted (the deferred
        # over-sampling alone)
        bench_run "$out/oversample-only-s$s" "build/tailor train $recipe --seed $s --synth m2m:start=$START,steps=0,gamma=1 --teacher $out/erm-s$s --out $out/oversample-only-s$s"
    done ;;
table)
    bench_py "$out" <<'PY'
import glob, sys
from table import cells, line, load, reports, runs
out = sys.argv[1]
keys = ["balanced_accuracy", "macro_f1", "head", "mid", "tail"]
cfgs = sorted(glob.glob(f"{out}/m2m-s*/config.json"))
if cfgs:  # the recipe as the runs recorded it
    c = load(cfgs[0])
    print(f"{c['model']}, {c['data']} --lt {c['lt']} --val {c['val']}, {c['epochs']} epochs, batch {c['batch']}, "
          f"--optim {c['optim']}, --schedule {c['schedule']}, --loss {c['loss']}; M2m: --synth {c['synth']} "
          "(other keys at their defaults: beta 0.999, lambda 0.5, gamma 0.9, steps 10, eta 0.1), "
          "g = the same seed's ERM run.\n")
print("| method | seeds | balanced acc | macro F1 | head | mid | tail | accepted / generated |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for m, label in (("erm", "ERM (g)"), ("m2m", "M2m"),
                 ("oversample-only", "M2m accepting nothing (`steps=0,gamma=1`: the deferred over-sampling alone)")):
    rs = reports(f"{out}/{m}-s*")
    rate = "—"
    if m == "m2m" and rs:
        epochs = [e for d in runs(f"{out}/m2m-s*") for e in load(d + "/m2m.json")["epochs"]]
        rate = f"{sum(e['accepted'] for e in epochs)} / {sum(e['generated'] for e in epochs)}"
    print(line(label, len(rs), cells(rs, keys), rate))
PY
    ;;
esac
