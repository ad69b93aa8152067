#!/usr/bin/env bash
# ConvLSTM kernel 2 (the authors' TF code, 'SAME' padding) vs 3 (common in ports): the same
# small synthetic run (16 series, seed 0), same seed and epochs, compared on validation loss.
#
#   EPOCHS=4 bench/train_eval/kernel_compare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
MSCRED=${MSCRED:-build/daemon/mscred}
OUT=${OUT:-out/train_eval/kernel}
EPOCHS=${EPOCHS:-4}
SERIES=${SERIES:-16}
export OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT"
"$MSCRED" synth --seed 0 --series "$SERIES" --length 5000 --train-end 3200 --valid-end 4000 \
  --anomalies 3 --out "$OUT/data" >"$OUT/synth.log"
for k in 2 3; do
  "$MSCRED" train --data "$OUT/data/train.csv" --out "$OUT/k$k.ckpt" --val-fraction 0.2 \
    --epochs "$EPOCHS" --patience "$EPOCHS" --kernel "$k" --lr 1e-3 --seed 0 --threads 1 \
    >"$OUT/k$k.log" 2>&1
  echo "kernel $k: $(grep -E '^epoch' "$OUT/k$k.log" | tr '\n' ' ' | grep -oE 'val [0-9.]+' | tr '\n' ' ')"
  grep -E "best validation|windows/s over" "$OUT/k$k.log"
done
