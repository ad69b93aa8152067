#!/usr/bin/env bash
# One command: install what is needed, build with warnings as errors, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
BUILD_DIR="${BUILD_DIR:-build}" bash tools/build.sh -DMSCRED_WERROR=ON
# One OpenBLAS thread per LibTorch intra-op thread (see README, Performance).
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j 2 --timeout 600
