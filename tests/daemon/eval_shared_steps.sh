#!/usr/bin/env bash
# `mscred eval` scores through the streaming path with shared steps (a batch holds
# consecutive windows of the file's one stream). Its per-step CSV and metrics must be those
# of `--plain` (every window computed in full), on a tiny model trained with
# --batch-order contiguous (which also exercises shared-step training end to end).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=script_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/script_common.sh"
synth_data --seed 2 --series 6 --length 1600 --train-end 600 --valid-end 800 --anomalies 2
export OPENBLAS_NUM_THREADS=1
"$mscred" train --data "$dir/data/train.csv" --out "$dir/m.ckpt" --epochs 1 --batch 8 \
  --batch-order contiguous --threads 1 >"$dir/train.txt" 2>&1
test -s "$dir/m.ckpt"
for mode in plain shared; do
  flag=()
  [ "$mode" = plain ] && flag=(--plain)
  "$mscred" eval --model "$dir/m.ckpt" --data "$dir/data/test.csv" --batch 16 --threads 1 \
    --out "$dir/$mode.csv" --summary-json "$dir/$mode.json" "${flag[@]}" >"$dir/$mode.txt" 2>&1
  grep -v inference_windows_per_s "$dir/$mode.json" >"$dir/$mode.metrics"
done
test "$(wc -l <"$dir/plain.csv")" -gt 50
cmp "$dir/plain.csv" "$dir/shared.csv"
cmp "$dir/plain.metrics" "$dir/shared.metrics"
# The shared path really reused steps: one window computed in full (the first), the rest
# reused their predecessor's.
grep -q "plain: every window in full" "$dir/plain.txt"
grep -Eq "shared steps: [1-9][0-9]* windows reused steps, 1 computed in full" "$dir/shared.txt"
echo "eval with shared steps equals --plain"
