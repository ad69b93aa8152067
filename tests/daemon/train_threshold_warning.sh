#!/usr/bin/env bash
# `mscred train` warns when a threshold can never be exceeded. With --theta 0 every residual
# element of every validation window is above theta, so max count = n*n = 16 (n = 4) per scale
# and 48 in total, tau = 1.5 * 16 = 24.0 and 72.0: no step can exceed them. The checkpoint is
# still written and the command succeeds.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=script_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/script_common.sh"
synth_data --seed 1 --series 4 --length 1200 --train-end 400 --valid-end 500 --anomalies 0
OPENBLAS_NUM_THREADS=1 "$mscred" train --data "$dir/data/train.csv" --out "$dir/m.ckpt" \
  --epochs 1 --theta 0 --threads 1 >"$dir/out.txt" 2>"$dir/err.txt"
test -s "$dir/m.ckpt"
grep -q "scale 10 tau 24.0 >= 16 elements; scale 30 tau 24.0 >= 16 elements; scale 60 tau 24.0 >= 16 elements; total tau 72.0 >= 48 elements" "$dir/err.txt"
grep -q "the model will never alert" "$dir/err.txt"
# The same warning from eval, which loads the thresholds from the checkpoint.
"$mscred" eval --model "$dir/m.ckpt" --data "$dir/data/test.csv" >/dev/null 2>"$dir/eval_err.txt"
grep -q "scale 10 tau 24.0 >= 16 elements" "$dir/eval_err.txt"
echo "warned as expected"
