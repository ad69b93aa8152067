#!/usr/bin/env bash
# One command: install what is needed, build with warnings as errors, run every test:
#  1. the Release build in build/ and all its CTest tests (unit, integration, robustness,
#     deploy checks);
#  2. an AddressSanitizer + UndefinedBehaviorSanitizer build of everything that does not
#     need LibTorch (build-asan/) and its unit, integration and robustness tests.
# The ThreadSanitizer run (tools/sanitize.sh tsan) and fuzzing (tools/fuzz.sh) are run by
# hand; see docs/robustness.md. Set MSCRED_SKIP_ASAN=1 to run only step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
BUILD_DIR="${BUILD_DIR:-build}" bash tools/build.sh -DMSCRED_WERROR=ON
# One OpenBLAS thread per LibTorch intra-op thread (see README, Performance).
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j 2 --timeout 600
if [ "${MSCRED_SKIP_ASAN:-0}" != 1 ]; then
  bash tools/sanitize.sh asan
fi
