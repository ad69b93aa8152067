#!/usr/bin/env bash
# One command: install what is needed, build, and run the main job on an embedded default.
# For now (until the daemon lands) the main job generates the paper's synthetic data and
# prints a summary of its signature matrices.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
out="${MSCRED_DEMO_DIR:-out/demo}"
mkdir -p "$out"
./build/daemon/mscred synth --seed 0 --out "$out/synth"
./build/daemon/mscred signatures --input "$out/synth/test.csv" --out "$out/signatures"
