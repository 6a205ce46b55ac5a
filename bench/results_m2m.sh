#!/usr/bin/env bash
# M2m benchmark (methods.md §12): cnn on Fashion-MNIST --lt exp:100 --val 100 with the recipe of
# bench/results_rebal.sh, seeds 0 1 2. Per seed: the ERM baseline (plain CE, instance sampling), which is
# also M2m's frozen classifier g, then M2m trained from scratch with the same recipe and
# --synth m2m:start=E --teacher <that seed's baseline> (E = epoch 160 of 200 scaled, 10 of 12).
#   bench/results_m2m.sh OUT tailor   train the runs that are missing (seed-major; resumable: a finished
#                                     run folder is kept, an interrupted one is resumed)
#   bench/results_m2m.sh OUT table    print the Markdown table (mean ± sample std over the seeds found)
# Env: EPOCHS (12), THREADS (2), SEEDS ("0 1 2"). Run `make` first. Generation costs steps + 1 forwards
# and steps backwards of both networks per batch with a slot, so M2m's last epochs run ~20x slower than ERM's.
set -eu
cd "$(dirname "$0")/.."
out=$1; mode=$2
EPOCHS=${EPOCHS:-12}; THREADS=${THREADS:-2}; SEEDS=${SEEDS:-0 1 2}
START=$(( (2 * 160 * EPOCHS + 200) / 400 ))   # methods.md §0.6: epoch 160 of 200, rounded half up (10 of 12)
mkdir -p "$out"
recipe="--data fashion-mnist --lt exp:100 --val 100 --model cnn --epochs $EPOCHS --batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine --loss ce --threads $THREADS --quiet"
train() {  # train DIR ARGS...: skip a finished run, resume an interrupted one, else start it
    local dir=$1; shift
    [ -e "$dir" ] && return 0
    if [ -e "$dir.partial/config.json" ]; then
        echo "build/tailor train --resume $dir" >>"$out/commands.txt"
        build/tailor train --resume "$dir" --quiet >/dev/null
        return 0
    fi
    rm -rf "$dir.partial"
    echo "build/tailor train $* --out $dir" >>"$out/commands.txt"
    build/tailor train "$@" --out "$dir" >/dev/null
}
case $mode in
tailor)
    for s in $SEEDS; do
        # shellcheck disable=SC2086
        train "$out/erm-s$s" $recipe --seed "$s"
        # shellcheck disable=SC2086
        train "$out/m2m-s$s" $recipe --seed "$s" --synth "m2m:start=$START" --teacher "$out/erm-s$s"
    done ;;
table)
    /usr/bin/python3 - "$out" <<'PY'
import glob, json, statistics, sys
out = sys.argv[1]
def ms(v):
    v = [x * 100 for x in v if x is not None]
    if not v: return "—"
    return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"
keys = ["balanced_accuracy", "macro_f1", "head", "mid", "tail"]
cfgs = sorted(glob.glob(f"{out}/m2m-s*/config.json"))
if cfgs:  # the recipe as the runs recorded it
    c = json.load(open(cfgs[0]))
    print(f"{c['model']}, {c['data']} --lt {c['lt']} --val {c['val']}, {c['epochs']} epochs, batch {c['batch']}, "
          f"--optim {c['optim']}, --schedule {c['schedule']}, --loss {c['loss']}; M2m: --synth {c['synth']} "
          "(other keys at their defaults: beta 0.999, lambda 0.5, gamma 0.9, steps 10, eta 0.1), "
          "g = the same seed's ERM run.\n")
print("| method | seeds | balanced acc | macro F1 | head | mid | tail | accepted / generated |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for m, label in (("erm", "ERM (g)"), ("m2m", "M2m")):
    dirs = sorted(glob.glob(f"{out}/{m}-s*/report.json"))
    rs = [json.load(open(p)) for p in dirs]
    rate = "—"
    if m == "m2m" and rs:
        gen = acc = 0
        for p in dirs:
            for e in json.load(open(p.replace("report.json", "m2m.json")))["epochs"]:
                gen += e["generated"]; acc += e["accepted"]
        rate = f"{acc} / {gen}"
    print(f"| {label} | {len(rs)} | " + " | ".join(ms([r.get(k) for r in rs]) for k in keys) + f" | {rate} |")
PY
    ;;
*) echo "usage: $0 OUT tailor|table" >&2; exit 2 ;;
esac
