#!/usr/bin/env bash
# GPU check, for a machine with a CUDA LibTorch and a GPU: windows/s of the forward at n = 38
# for batch 1, 32, 256, 1024 (plain and streaming), and GPU outputs equal CPU outputs within
# tolerance. Exit 0 = checks passed, 1 = an output check failed, 2 = no CUDA here.
#   bench/gpu_check.sh [cuda:N] [reps]
# Build first (tools/build.sh) against a CUDA-enabled LibTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
exe="${BUILD_DIR:-build}/bench/gpu_check"
[ -x "$exe" ] || { echo "gpu_check: $exe missing: build with tools/build.sh first" >&2; exit 2; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" exec "$exe" "${1:-cuda:0}" "${2:-10}"
