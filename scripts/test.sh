#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: C unit tests (gradient checks),
# PyTorch parity tests and CLI tests. The last line is "N passed, N failed"; the exit code is the verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
tests/run.sh build
