#!/usr/bin/env bash
# Full-size SMD runs, outside CI: train on a machine's train file, eval on its test file with
# test_label and interpretation_label (point-wise, point-adjusted F1, HitRate@100/150).
#
#   MACHINES="machine-1-6" EPOCHS=30 MAX_SECONDS=0 MAX_ROWS=0 bench/train_eval/smd.sh
#
# BATCH and LR as for mscred train. MAX_ROWS limits the training rows (0 = all 23.7k) and
# TEST_ROWS the replayed test rows (0 = all). DETECT_SCALES, OBJECTIVE and BATCH_ORDER as in
# synth.sh (output under OUT/MACHINE/kK/OBJECTIVE, plus /ORDER for a non-default order).
set -euo pipefail
cd "$(dirname "$0")/../.."
MSCRED=${MSCRED:-build/daemon/mscred}
SMD=${SMD:-../shared/data/smd/ServerMachineDataset}
OUT=${OUT:-out/train_eval/smd}
MACHINES=${MACHINES:-"machine-1-6 machine-2-1 machine-2-7"}
EPOCHS=${EPOCHS:-30}
PATIENCE=${PATIENCE:-5}
MAX_SECONDS=${MAX_SECONDS:-0}
MAX_ROWS=${MAX_ROWS:-0}
TEST_ROWS=${TEST_ROWS:-0}
KERNEL=${KERNEL:-3}
THREADS=${THREADS:-1}
BATCH=${BATCH:-32}
LR=${LR:-2e-4}
DETECT_SCALES=${DETECT_SCALES:-}
OBJECTIVE=${OBJECTIVE:-reconstruct}
BATCH_ORDER=${BATCH_ORDER:-shuffled}
export OPENBLAS_NUM_THREADS=1

for m in $MACHINES; do
  d="$OUT/$m/k$KERNEL/$OBJECTIVE"
  [ "$BATCH_ORDER" = shuffled ] || d="$d/$BATCH_ORDER"
  mkdir -p "$d"
  echo "== $m kernel $KERNEL objective $OBJECTIVE -> $d ($(date -u +%H:%M:%S))"
  "$MSCRED" train --data "$SMD/train/$m.txt" --out "$d/model.ckpt" --model-id "smd-$m" \
    --max-rows "$MAX_ROWS" --val-fraction 0.2 --epochs "$EPOCHS" --patience "$PATIENCE" \
    --max-seconds "$MAX_SECONDS" --kernel "$KERNEL" --threads "$THREADS" --batch "$BATCH" --lr "$LR" \
    --batch-order "$BATCH_ORDER" --objective "$OBJECTIVE" >"$d/train.log" 2>&1
  "$MSCRED" eval --model "$d/model.ckpt" --data "$SMD/test/$m.txt" --max-rows "$TEST_ROWS" \
    --labels "$SMD/test_label/$m.txt" --interpretation "$SMD/interpretation_label/$m.txt" \
    --threads "$THREADS" --out "$d/steps.csv" --summary-json "$d/summary.json" >"$d/eval.log" 2>&1
  for ds in $DETECT_SCALES; do
    "$MSCRED" eval --model "$d/model.ckpt" --data "$SMD/test/$m.txt" --max-rows "$TEST_ROWS" \
      --labels "$SMD/test_label/$m.txt" --interpretation "$SMD/interpretation_label/$m.txt" \
      --threads "$THREADS" --detect-scale "$ds" --out "$d/steps_detect$ds.csv" \
      --summary-json "$d/summary_detect$ds.json" >"$d/eval_detect$ds.log" 2>&1
  done
  grep -v "^epoch" "$d/train.log" | tail -6
  cat "$d/eval.log"
done
