#!/usr/bin/env bash
# Worker batching: windows/s and end-to-end latency of mscredd with a real MSCRED model at
# n = 38 (SMD) over TCP, against worker.max_batch and worker.max_wait_ms. Outside CI. From
# the repo root after a Release build (tools/build.sh):
#
#   bench/worker_batching.sh                          # trains a small model, full matrix
#   MODEL=out/e2e/model.ckpt BATCHES="1 32" WAITS="5" bench/worker_batching.sh
#
# The model is the one bench/e2e_latency.sh trains (first TRAIN_ROWS rows of machine-1-6,
# scales 5,10, step 10, history 3; reused with MODEL=). For every (max_batch, max_wait_ms)
# it starts mscredd with a TCP source and ENTITIES entities e0..e<E-1> (round-robin, so
# their steps fall due together, as with synchronised sensors) and does two runs:
#
#  - saturated: BURST samples per entity sent as fast as TCP takes them, then drained:
#    windows/s = steps scored / wall time (first send to last step scored) is the worker's
#    capacity at that setting;
#  - paced: RATE samples/s in total for DURATION s (below the capacity): p50/p99 of
#    mscred_end_to_end_latency_seconds (newest sample of a step -> score handed to the
#    sinks), interpolated inside the histogram buckets (bounds 0.5 ms ... 10 s).
#
# Prints one Markdown table row per setting. THREADS LibTorch threads (OpenBLAS pinned to
# the same by mscredd itself).
set -euo pipefail
cd "$(dirname "$0")/.."
MSCRED=${MSCRED:-build/daemon/mscred}
MSCREDD=${MSCREDD:-build/daemon/mscredd}
DATA=${DATA:-../shared/data/smd/ServerMachineDataset/train/machine-1-6.txt}
OUT=${OUT:-out/batching}
MODEL=${MODEL:-}
TRAIN_ROWS=${TRAIN_ROWS:-700}
EPOCHS=${EPOCHS:-1}
ENTITIES=${ENTITIES:-100}
BATCHES=${BATCHES:-"1 8 32 128"}
WAITS=${WAITS:-"0 5 20 50"}
BURST=${BURST:-40}          # samples per entity in the saturated run: 2 steps each
RATE=${RATE:-100}           # samples/s in total in the paced run (1 per entity)
DURATION=${DURATION:-45}
DRAIN=${DRAIN:-120}
THREADS=${THREADS:-1}
TCP_PORT=${TCP_PORT:-17983}
METRICS_PORT=${METRICS_PORT:-19469}
WINDOW=30  # samples of an entity's first step: max(scales) + (history - 1) x step
STEP=10
mkdir -p "$OUT"

if [ -z "$MODEL" ]; then
  MODEL="$OUT/model.ckpt"
  echo "== training $MODEL on $TRAIN_ROWS rows of $DATA ($EPOCHS epochs)" >&2
  "$MSCRED" train --data "$DATA" --max-rows "$TRAIN_ROWS" --out "$MODEL" --model-id smd-batching \
    --scales 5,10 --step 10 --history 3 --val-fraction 0.25 --lr 2e-3 --batch 16 \
    --epochs "$EPOCHS" --theta 2.0 --threads "$THREADS" >"$OUT/train.log" 2>&1
  tail -4 "$OUT/train.log" >&2
fi

# run NAME BATCH WAIT RATE DURATION PER_ENTITY -> bench/e2e_latency.py's JSON in $OUT/NAME.json
run() {
  local name=$1 batch=$2 wait=$3 rate=$4 duration=$5 per_entity=$6
  local cfg="$OUT/$name.yaml"
  cat >"$cfg" <<YAML
sources: [{type: tcp, listen: "127.0.0.1:$TCP_PORT"}]
models: [{name: smd, path: "$MODEL"}]
entities: {unknown: default, default_model: smd}
worker: {device: cpu, threads: $THREADS, max_batch: $batch, max_wait_ms: $wait}
sinks: {log: {enabled: false}}
metrics: {listen: "127.0.0.1:$METRICS_PORT"}
health: {enabled: false}
logging: {level: warn}
YAML
  "$MSCREDD" --config "$cfg" 2>"$OUT/$name.err" &
  local pid=$!
  for _ in $(seq 600); do
    # Ready once the model is loaded and the sources listen (/metrics answers earlier).
    curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null | grep -q '^mscred_ready 1' && break
    sleep 0.1
  done
  python3 bench/e2e_latency.py --data "$DATA" --skip-rows "$TRAIN_ROWS" --entities "$ENTITIES" \
    --rate "$rate" --duration "$duration" --per-entity "$per_entity" --drain "$DRAIN" --window "$WINDOW" --step "$STEP" \
    --tcp-port "$TCP_PORT" --metrics-port "$METRICS_PORT" >"$OUT/$name.json" || true
  kill -TERM "$pid"
  wait "$pid" || true
}

echo "| max_batch | max_wait_ms | saturated windows/s | paced steps/s | paced p50 ms | paced p99 ms |"
echo "|---|---|---|---|---|---|"
for b in $BATCHES; do
  for w in $WAITS; do
    run "sat-b$b-w$w" "$b" "$w" 0 60 "$BURST"
    run "paced-b$b-w$w" "$b" "$w" "$RATE" "$DURATION" 0
    python3 - "$OUT/sat-b$b-w$w.json" "$OUT/paced-b$b-w$w.json" "$b" "$w" <<'PY' || true
import json, sys
sat, paced = (json.load(open(p)) for p in sys.argv[1:3])
note = lambda r: "" if r["steps_scored"] >= r["steps_expected"] else \
    f" ({r['steps_scored']:.0f} of {r['steps_expected']} scored)"
print(f"| {sys.argv[3]} | {sys.argv[4]} | {sat['steps_per_s']}{note(sat)} | "
      f"{paced['steps_per_s']}{note(paced)} | {paced['p50_ms']} | {paced['p99_ms']} |")
PY
  done
done
