#!/usr/bin/env bash
# The session-4 A/B of the batch order at about an equal compute budget: `--batch-order
# contiguous` (consecutive windows, shared steps) gets 9 epochs where the shuffled order gets
# 6, from the 1.5x windows/s that `bench/model_perf` gave at batch 8 (`train 8` against
# `train_contig 8`, reconstruct, kernel 3); `mscred train` itself (forecast, kernel 2,
# interleaved) gave 1.39-1.46x, so 9 contiguous epochs cost about what 6 shuffled ones do. Everything else is the session-3 forecast budget (kernel 2, lr
# 1e-3, batch 8, patience 3, detection also at w = 30). One run at a time at low priority;
# a shuffled seed-0 run at lambda 0.3 gives the wall-clock reference in the same queue.
#
#   nohup bench/train_eval/batch_order_queue.sh >>/work/s4bin/batch_order.log 2>&1 &
#
# MSCRED (binary), OUT, SEEDS and LAMBDAS may be overridden.
set -euo pipefail
cd "$(dirname "$0")/../.."
export MSCRED=${MSCRED:-/work/s4bin/mscred}
export OUT=${OUT:-out/s4/batch_order}
SEEDS=${SEEDS:-"0 1 2"}
LAMBDAS=${LAMBDAS:-"0.3 0.2"}
common() {
  OBJECTIVE=forecast KERNEL=2 LR=1e-3 BATCH=8 PATIENCE=3 DETECT_SCALES=1 nice -n 10 "$@"
}
echo "=== shuffled reference lambda 0.3 seed 0 start $(date -u +%H:%M:%S)"
EPOCHS=6 BATCH_ORDER=shuffled SEEDS=0 LAMBDA=0.3 common bench/train_eval/synth.sh
for l in $LAMBDAS; do
  echo "=== contiguous lambda $l start $(date -u +%H:%M:%S)"
  EPOCHS=9 BATCH_ORDER=contiguous SEEDS="$SEEDS" LAMBDA="$l" common bench/train_eval/synth.sh
  echo "=== contiguous lambda $l done $(date -u +%H:%M:%S)"
done
