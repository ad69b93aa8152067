#!/usr/bin/env bash
# The session-3 A/B of the forecast objective against session 2's reconstructing runs: the
# same budget (kernel 2, lr 1e-3, batch 8, 6 epochs, patience 3, detection also at w = 30),
# seeds 0-4, lambda 0.3 then 0.2 then 0.45, one run at a time at low priority.
#
#   nohup bench/train_eval/forecast_queue.sh >>/work/s3bin/forecast_runs.log 2>&1 &
#
# MSCRED (binary), OUT and LAMBDAS may be overridden.
set -euo pipefail
cd "$(dirname "$0")/../.."
export MSCRED=${MSCRED:-/work/s3bin/mscred-forecast}
export OUT=${OUT:-out/s3/forecast}
LAMBDAS=${LAMBDAS:-"0.3 0.2 0.45"}
for l in $LAMBDAS; do
  echo "=== lambda $l start $(date -u +%H:%M:%S)"
  OBJECTIVE=forecast KERNEL=2 LR=1e-3 BATCH=8 EPOCHS=6 PATIENCE=3 DETECT_SCALES=1 \
    SEEDS="0 1 2 3 4" LAMBDA="$l" nice -n 10 bench/train_eval/synth.sh
  echo "=== lambda $l done $(date -u +%H:%M:%S)"
done
