#!/usr/bin/env bash
# What pinning OpenBLAS's threads buys: mscredd's own capacity measurement (score() of the
# real n = 38 model on synthetic windows, 1 warm-up + 3 timed batches, median; see
# worker.capacity_check) for LibTorch threads T in THREADS_LIST and OpenBLAS threads B in
# BLAS_LIST (B given through OPENBLAS_NUM_THREADS, which mscredd leaves alone; mscredd's
# default is B = T), at max_batch 1 and 32, REPS rounds interleaved in time (the machine's
# speed drifts). Outside CI. From the repo root after a Release build:
#
#   MODEL=out/e2e/model.ckpt bench/blas_threads.sh
#
# Prints one line per run: T B batch steps/s; then the median per (T, B, batch).
set -euo pipefail
cd "$(dirname "$0")/.."
MSCREDD=${MSCREDD:-build/daemon/mscredd}
MODEL=${MODEL:?MODEL=checkpoint (e.g. from bench/e2e_latency.sh) is required}
OUT=${OUT:-out/blas-threads}
THREADS_LIST=${THREADS_LIST:-"1 2"}
BLAS_LIST=${BLAS_LIST:-"1 2"}
BATCHES=${BATCHES:-"1 32"}
REPS=${REPS:-3}
mkdir -p "$OUT"
: >"$OUT/empty.csv"
results="$OUT/results.txt"
: >"$results"
for rep in $(seq "$REPS"); do
  for t in $THREADS_LIST; do
    for b in $BLAS_LIST; do
      for batch in $BATCHES; do
        cfg="$OUT/t$t-b$b-n$batch.yaml"
        cat >"$cfg" <<YAML
sources: [{type: file, path: "$OUT/empty.csv", entity: e}]
models: [{name: smd, path: "$MODEL", expected_entities: 1}]
worker: {device: cpu, threads: $t, max_batch: $batch, capacity_check: warn}
sinks: {log: {enabled: false}}
metrics: {enabled: false}
health: {enabled: false}
logging: {level: info}
YAML
        line=$(env -u OMP_NUM_THREADS OPENBLAS_NUM_THREADS="$b" "$MSCREDD" --config "$cfg" 2>&1 |
          grep -o "measured [0-9.]* steps/s" | head -1 || true)
        echo "$t $b $batch ${line//[^0-9.]/}" | tee -a "$results"
      done
    done
  done
done
echo "# median steps/s: torch_threads openblas_threads batch steps/s"
python3 - "$results" <<'PY'
import statistics, sys
from collections import defaultdict
runs = defaultdict(list)
for line in open(sys.argv[1]):
    t, b, batch, v = (line.split() + [""])[:4]
    if v:
        runs[(int(t), int(b), int(batch))].append(float(v.strip(".")))
for key in sorted(runs):
    print(*key, round(statistics.median(runs[key]), 2), "from", runs[key])
PY
