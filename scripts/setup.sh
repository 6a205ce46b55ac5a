#!/usr/bin/env bash
# Installs what tailor needs from Debian 12's packages (only what is missing) and builds it.
#   scripts/setup.sh          the library, the command (with Open MPI) and its data set
#   scripts/setup.sh --test   also PyTorch, torchvision, Pillow and NumPy for the parity tests and benchmarks;
#                             scikit-learn and pandas for the Python package's tests (tests/python);
#                             imbalanced-learn and R's mlbench data for bench/whole_run.sh and bench/results_study.sh;
#                             clang and libFuzzer for the fuzz targets (tests/fuzz); pkg-config and
#                             man for the install test (tests/cli/test_install.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs="build-essential libopenblas-dev libdnnl-dev libplplot-dev plplot-driver-cairo fonts-dejavu-core
      libpng-dev libjpeg-dev zlib1g-dev dataset-fashion-mnist openmpi-bin libopenmpi-dev"
if [ "${1:-}" = "--test" ]; then pkgs="$pkgs python3 python3-torch python3-torchvision python3-pil python3-numpy python3-sklearn python3-pandas python3-imblearn r-cran-mlbench clang-14 libclang-rt-14-dev libomp-14-dev pkgconf man-db"; fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
fi
make -j"$(nproc)" all
