#!/usr/bin/env bash
# Our MSCRED against the Python baseline (../shared/bench/mscred_ref.py), same weights and
# inputs, interleaved in time: forward (plain and streaming) at batch 1 and 32, n = 30, 38,
# 70, 134, threads 1 and 2; training at n = 30; per-step time and memory at n = 38, 134, 262;
# the SGEMM peak of this CPU in the same run. Ratios are ours / baseline windows per second.
#
#   bench/model_bench.sh            full run, threads 1 then 2 (about 20 minutes per thread
#                                   count on 2 cores)
#   QUICK=1 bench/model_bench.sh    n = 30 and 38 forward, n = 30 training, n = 38 per step,
#                                   batch-32 rows interleaved twice, threads 1 and 2 (about
#                                   10 minutes); QUICK=1 THREADS=1 for half of that
#   THREADS=2 NS=30,38 SCALING_NS= bench/model_bench.sh   a subset
#
# Rows: ours plain (every window in full), ours stream (`batch` streams each advancing one
# step per call: the daemon), ours eval (`batch` consecutive windows of one stream per call:
# `mscred eval`), ours train / ours train contig (Adam steps on random windows / on `batch`
# consecutive windows with shared steps: `mscred train --batch-order contiguous`), the
# baseline's auto and mkldnn backends.
#
# Needs a Release build (BUILD_DIR, default build) with bench/model_perf, and Debian's
# python3-torch. OPENBLAS_NUM_THREADS and OMP_NUM_THREADS are pinned to the intra-op
# threads of both sides (OpenBLAS threads would otherwise fight LibTorch's on 2 cores).
# JSON results go to ${OUT_DIR:-build/bench}/model_bench_t<threads>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
exe="$build_dir/bench/model_perf"
ref="${MSCRED_REF:-$(cd .. && pwd)/shared/bench/mscred_ref.py}"
out_dir="${OUT_DIR:-$build_dir/bench}"
python="${PYTHON:-/usr/bin/python3}"
[ -x "$exe" ] || { echo "model_bench: $exe missing: build with tools/build.sh first" >&2; exit 2; }
[ -f "$ref" ] || { echo "model_bench: baseline $ref missing (set MSCRED_REF)" >&2; exit 2; }
mkdir -p "$out_dir"
args=()
threads_list="${THREADS:-1 2}"
if [ "${QUICK:-0}" = 1 ]; then
  args=(--quick --ns 30,38 --scaling-ns 38)
fi
# Subsets: NS=30,38 TRAIN_NS=30 SCALING_NS= (empty skips that part).
[ -n "${NS+x}" ] && args+=(--ns "$NS")
[ -n "${TRAIN_NS+x}" ] && args+=(--train-ns "$TRAIN_NS")
[ -n "${SCALING_NS+x}" ] && args+=(--scaling-ns "$SCALING_NS")
echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) nproc $(nproc)"
echo "# BLAS alternative: $(readlink -f /lib/x86_64-linux-gnu/libblas.so.3)"
for t in $threads_list; do
  OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t "$python" bench/model_bench.py --exe "$exe" --ref "$ref" \
    --threads "$t" --out "$out_dir/model_bench_t$t.json" "${args[@]}"
done
