#!/usr/bin/env bash
# One command: install what is needed, build with warnings as errors, run every test:
#  1. the Release build in build/ and all its CTest tests (unit, integration, robustness,
#     deploy checks);
#  2. an AddressSanitizer + UndefinedBehaviorSanitizer build of everything that does not
#     need LibTorch (build-asan/) and its unit, integration and robustness tests;
#  3. a ThreadSanitizer build (build-tsan/) and the queue, worker and shutdown tests;
#  4. a short fuzz run of every libFuzzer target with the fixed CI policy (tools/fuzz.sh ci:
#     seed 1, a fixed number of inputs from the checked-in seeds), failing on any finding.
# Longer fuzzing is run by hand; see docs/robustness.md. MSCRED_SKIP_ASAN=1,
# MSCRED_SKIP_TSAN=1 and MSCRED_SKIP_FUZZ=1 leave out steps 2, 3 and 4.
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
if [ "${MSCRED_SKIP_TSAN:-0}" != 1 ]; then
  bash tools/sanitize.sh tsan
fi
if [ "${MSCRED_SKIP_FUZZ:-0}" != 1 ]; then
  bash tools/fuzz.sh ci
fi
