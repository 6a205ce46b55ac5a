#!/usr/bin/env bash
# `tailor study` benchmarks (issue 18, docs/results.md). Each writes a study folder OUT/NAME
# (leaderboard.md, study.json, figures, best); running the same command again resumes it.
#   bench/results_study.sh OUT fmnist     --grid standard --seeds 3 on Fashion-MNIST --lt exp:100 --val 100,
#                                         the 12-epoch recipe of docs/results.md
#   bench/results_study.sh OUT fmnist-full  --grid full on the same view with longer training (EPOCHS, 32)
#                                         and successive halving within BUDGET minutes (75), one seed
#   bench/results_study.sh OUT fmnist-long  bench/study_long.grid (the standard grid's leaders) on the
#                                         same view for EPOCHS (30) epochs, SEEDS (1) seeds
#   bench/results_study.sh OUT shuttle    Shuttle (r-cran-mlbench, 58000 rows, 7 classes, imbalance 4559:1):
#                                         exported to CSV with Rscript, a stratified 80/20 train/test split
#                                         (R's set.seed(1)), --grid standard --seeds 3 on the mlp
#   bench/results_study.sh OUT satellite  Satellite (r-cran-mlbench, 6435 rows, 6 classes), the same way
#   bench/results_study.sh OUT partial NAME K   the leaderboard of a study stopped early: the candidates of
#                                         OUT/NAME whose validation reports exist for seeds 0..K-1, as a
#                                         grid file, re-run (nothing retrained: hard links of the finished
#                                         folders) into OUT/NAME-partial; run it from where the study ran
# Env: SEEDS (3), JOBS (1), THREADS (2), GRID (standard); for fmnist-full EPOCHS (32), BUDGET (75);
# for fmnist-long EPOCHS (30), SEEDS_LONG (1).
# Run `make` first.
set -eu
here=$PWD   # a partial study runs where the study did (its --data may be relative)
out=$(realpath -m "${1:?usage: bench/results_study.sh OUT fmnist|shuttle|satellite}")
cd "$(dirname "$0")/.."
mode=${2:?usage: bench/results_study.sh OUT fmnist|shuttle|satellite}
SEEDS=${SEEDS:-3} JOBS=${JOBS:-1} THREADS=${THREADS:-2} GRID=${GRID:-standard}
mkdir -p "$out"
T=${TAILOR:-$PWD/build/tailor}
# export NAME LABEL: OUT/NAME-train.csv and OUT/NAME-test.csv, numeric features then the class name.
export_mlbench() {
    [ -s "$out/$1-test.csv" ] && return
    Rscript -e "suppressMessages(library(mlbench)); data($1); d <- $1; y <- as.character(d[['$2']]);
        x <- d[, names(d) != '$2', drop = FALSE]; x[] <- lapply(x, as.numeric); set.seed(1);
        test <- unlist(lapply(split(seq_along(y), y), function(i) i[sample.int(length(i), round(0.2 * length(i)))]));
        is_test <- seq_along(y) %in% test; d2 <- data.frame(x, label = y);
        write.csv(d2[!is_test, ], '$out/$1-train.csv', row.names = FALSE, quote = FALSE);
        write.csv(d2[is_test, ], '$out/$1-test.csv', row.names = FALSE, quote = FALSE)"
}
run() {  # run NAME OPTIONS...: the study, its command and wall time in OUT/NAME.txt
    local name=$1; shift
    local cmd="$T study $* --grid $GRID --seeds $SEEDS --jobs $JOBS --threads $THREADS --out $out/$name"
    echo "$cmd" >>"$out/$name.txt"
    local t0=$SECONDS
    $cmd >>"$out/$name.log" 2>&1 || { echo "exit $? after $((SECONDS - t0)) s" >>"$out/$name.txt"; return 1; }
    echo "finished in $((SECONDS - t0)) s" >>"$out/$name.txt"
}
case $mode in
fmnist)
    run fmnist-standard --data fashion-mnist --lt exp:100 --val 100 --model cnn --epochs 12 --batch 128 \
        --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine ;;
fmnist-full)
    GRID=full SEEDS=1 run fmnist-full --data fashion-mnist --lt exp:100 --val 100 --model cnn --epochs "${EPOCHS:-32}" \
        --batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine --budget "${BUDGET:-75}" ;;
fmnist-long)
    GRID=$PWD/bench/study_long.grid SEEDS=${SEEDS_LONG:-1} run fmnist-long --data fashion-mnist --lt exp:100 --val 100 \
        --model cnn --epochs "${EPOCHS:-30}" --batch 128 --optim sgd:lr=0.1,momentum=0.9,wd=5e-4 --schedule cosine ;;
shuttle)
    export_mlbench Shuttle Class
    run shuttle-standard --data "csv:$out/Shuttle-train.csv,$out/Shuttle-test.csv" --val 2 --model mlp --epochs 15 ;;
satellite)
    export_mlbench Satellite classes
    run satellite-standard --data "csv:$out/Satellite-train.csv,$out/Satellite-test.csv" --val 50 --model mlp --epochs 15 ;;
partial)
    name=${3:?partial NAME K} k=${4:?partial NAME K} src=$out/$name dst=$out/$name-partial
    [ ! -e "$dst" ] || { echo "$dst exists" >&2; exit 2; }
    mkdir -p "$dst/runs" "$dst/val"
    # The study's own command line, from its settings (shared options) and its built-in grid.
    shared=$(head -n 1 "$src/settings.txt" | sed -E 's/ --epochs ([0-9]+) --seed ([0-9]+) --seeds [0-9]+ \(threads per run ([0-9]+)\).*/ --epochs \1 --seed \2/')
    $T study --grid "$GRID" --list | while read -r cand _; do
        done=1
        for s in $(seq 0 $((k - 1))); do [ -d "$src/val/$cand-s$s" ] || done=0; done
        if [ $done = 1 ]; then grep "^$cand = " <($T study --grid "$GRID" --list); fi
    done >"$dst.grid"
    for s in $(seq 0 $((k - 1))); do
        for f in "$src"/runs/*-s$s "$src"/val/*-s$s; do if [ -d "$f" ]; then cp -al "$f" "$dst/${f#"$src"/}"; fi; done
    done
    cmd="$T study $shared --grid $dst.grid --seeds $k --jobs 1 --threads $THREADS --out $dst"
    echo "$cmd" >>"$dst.txt"
    (cd "$here" && $cmd >>"$dst.log" 2>&1) ;;
*) echo "usage: bench/results_study.sh OUT fmnist|shuttle|satellite|partial" >&2; exit 2 ;;
esac
