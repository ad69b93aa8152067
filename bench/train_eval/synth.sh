#!/usr/bin/env bash
# Full-size synthetic runs, outside CI: `mscred synth` data (the paper's generator, 30 series,
# 20000 rows, rows 8000-10000 held out for validation), train, eval. One directory per seed
# with the logs, the checkpoint, per-step CSV and summary.json (metrics).
#
#   SEEDS="0 1 2 3 4" LAMBDA=0.3 EPOCHS=30 MAX_SECONDS=0 bench/train_eval/synth.sh
#
# Environment: MSCRED (binary), OUT (output root), SEEDS, LAMBDA (noise), EPOCHS, PATIENCE,
# MAX_SECONDS (training budget per seed, 0 = none), KERNEL (ConvLSTM kernel), THREADS,
# BATCH, LR, NORMALISER (minmax or zscore), MAX_ROWS (train on the first N rows of train.csv,
# its last 20 % being the validation part; 0 = all 10000), DETECT_SCALES (extra `mscred eval`
# runs with --detect-scale for each index listed, e.g. "1 2 -1"; thresholds stay the
# validation-derived ones), OBJECTIVE (reconstruct or forecast, `mscred train --objective`;
# it is part of the output path: OUT/lambdaL/kK/NORMALISER/OBJECTIVE/seedS), BATCH_ORDER
# (shuffled, this script's default, not `mscred train`'s, or contiguous: mini-batches of consecutive windows with shared
# steps, see `mscred train --batch-order`; a non-default order writes under
# .../seed<s>/<order>).
set -euo pipefail
cd "$(dirname "$0")/../.."
MSCRED=${MSCRED:-build/daemon/mscred}
OUT=${OUT:-out/train_eval/synth}
SEEDS=${SEEDS:-"0 1 2 3 4"}
LAMBDA=${LAMBDA:-0.3}
EPOCHS=${EPOCHS:-30}
PATIENCE=${PATIENCE:-5}
MAX_SECONDS=${MAX_SECONDS:-0}
KERNEL=${KERNEL:-3}
THREADS=${THREADS:-1}
BATCH=${BATCH:-32}
LR=${LR:-2e-4}
NORMALISER=${NORMALISER:-minmax}
MAX_ROWS=${MAX_ROWS:-0}
DETECT_SCALES=${DETECT_SCALES:-}
OBJECTIVE=${OBJECTIVE:-reconstruct}
BATCH_ORDER=${BATCH_ORDER:-shuffled}
export OPENBLAS_NUM_THREADS=1  # OpenBLAS threads fight LibTorch's (see shared/bench/README.md)

for seed in $SEEDS; do
  d="$OUT/lambda$LAMBDA/k$KERNEL/$NORMALISER/$OBJECTIVE/seed$seed"
  [ "$BATCH_ORDER" = shuffled ] || d="$d/$BATCH_ORDER"
  mkdir -p "$d"
  echo "== seed $seed lambda $LAMBDA kernel $KERNEL objective $OBJECTIVE -> $d ($(date -u +%H:%M:%S))"
  "$MSCRED" synth --seed "$seed" --lambda "$LAMBDA" --out "$d/data" >"$d/synth.log"
  # train.csv holds rows 0-10000; its last 20 % (8000-10000) is the generator's validation part.
  "$MSCRED" train --data "$d/data/train.csv" --out "$d/model.ckpt" --model-id "synth-s$seed" \
    --max-rows "$MAX_ROWS" --val-fraction 0.2 --epochs "$EPOCHS" --patience "$PATIENCE" --max-seconds "$MAX_SECONDS" \
    --kernel "$KERNEL" --threads "$THREADS" --batch "$BATCH" --batch-order "$BATCH_ORDER" --lr "$LR" --normaliser "$NORMALISER" --seed "$seed" \
    --objective "$OBJECTIVE" >"$d/train.log" 2>&1
  "$MSCRED" eval --model "$d/model.ckpt" --data "$d/data/test.csv" \
    --labels "$d/data/test_label.txt" --interpretation "$d/data/interpretation_label.txt" \
    --threads "$THREADS" --out "$d/steps.csv" --summary-json "$d/summary.json" >"$d/eval.log" 2>&1
  for ds in $DETECT_SCALES; do
    "$MSCRED" eval --model "$d/model.ckpt" --data "$d/data/test.csv" \
      --labels "$d/data/test_label.txt" --interpretation "$d/data/interpretation_label.txt" \
      --threads "$THREADS" --detect-scale "$ds" --out "$d/steps_detect$ds.csv" \
      --summary-json "$d/summary_detect$ds.json" >"$d/eval_detect$ds.log" 2>&1
  done
  grep -v "^epoch" "$d/train.log" | tail -6
  cat "$d/eval.log"
done
