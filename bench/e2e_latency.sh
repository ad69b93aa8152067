#!/usr/bin/env bash
# End-to-end latency and throughput of mscredd with a real MSCRED model at n = 38 (SMD).
# Outside CI. From the repo root after a Release build (tools/build.sh):
#
#   bench/e2e_latency.sh                       # trains a small model, runs 1, 10, 100 entities
#   MODEL=out/e2e/model.ckpt RATE=0 bench/e2e_latency.sh   # reuse a checkpoint, send at max
#
# Trains (unless MODEL is given) on the first TRAIN_ROWS rows of machine-1-6 (scales 5,10,
# step 10, history 3, EPOCHS epochs), then for each E in ENTITIES starts mscredd with a TCP
# source (entities e0..e<E-1>, all routed to the model by `entities.unknown: default`), sends
# the following rows as 38-sensor JSON records paced at RATE samples/s in total (0 = as fast
# as TCP takes them) for DURATION seconds, waits until every step is scored, and prints one
# table row from /metrics: samples/s and steps/s over wall time (first send to last step
# scored), and p50/p99 of mscred_end_to_end_latency_seconds (newest sample of a step -> its
# score handed to the sinks), interpolated linearly inside the histogram buckets.
set -euo pipefail
cd "$(dirname "$0")/.."
MSCRED=${MSCRED:-build/daemon/mscred}
MSCREDD=${MSCREDD:-build/daemon/mscredd}
DATA=${DATA:-../shared/data/smd/ServerMachineDataset/train/machine-1-6.txt}
OUT=${OUT:-out/e2e}
MODEL=${MODEL:-}
TRAIN_ROWS=${TRAIN_ROWS:-700}
EPOCHS=${EPOCHS:-1}
ENTITIES=${ENTITIES:-"1 10 100"}
RATE=${RATE:-150}
DURATION=${DURATION:-30}
DRAIN=${DRAIN:-30}
MAX_BATCH=${MAX_BATCH:-32}
MAX_WAIT_MS=${MAX_WAIT_MS:-5}
THREADS=${THREADS:-1}
TCP_PORT=${TCP_PORT:-17981}
METRICS_PORT=${METRICS_PORT:-19467}
export OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT"

if [ -z "$MODEL" ]; then
  MODEL="$OUT/model.ckpt"
  echo "== training $MODEL on $TRAIN_ROWS rows of $DATA ($EPOCHS epochs)" >&2
  "$MSCRED" train --data "$DATA" --max-rows "$TRAIN_ROWS" --out "$MODEL" --model-id smd-e2e \
    --scales 5,10 --step 10 --history 3 --val-fraction 0.25 --lr 2e-3 --batch 16 \
    --epochs "$EPOCHS" --theta 2.0 --threads "$THREADS" >"$OUT/train.log" 2>&1
  tail -4 "$OUT/train.log" >&2
fi
# Signature of the checkpoint: the first step needs max(scales) + (history-1)*step samples.
WINDOW=${WINDOW:-30}
STEP=${STEP:-10}

echo "| entities | offered samples/s | samples sent | samples/s | steps/s | p50 ms | p99 ms | wall s |"
echo "|---|---|---|---|---|---|---|---|"
for e in $ENTITIES; do
  cfg="$OUT/mscredd-$e.yaml"
  cat >"$cfg" <<EOF
sources: [{type: tcp, listen: "127.0.0.1:$TCP_PORT"}]
models: [{name: smd, path: "$MODEL"}]
entities: {unknown: default, default_model: smd}
worker: {device: cpu, threads: $THREADS, max_batch: $MAX_BATCH, max_wait_ms: $MAX_WAIT_MS}
sinks: {log: {enabled: false}}
metrics: {listen: "127.0.0.1:$METRICS_PORT"}
health: {listen: "127.0.0.1:0"}
logging: {level: warn}
EOF
  "$MSCREDD" --config "$cfg" 2>"$OUT/mscredd-$e.err" &
  pid=$!
  for _ in $(seq 100); do
    # Ready once the model is loaded and the sources listen (/metrics answers earlier).
    curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null | grep -q '^mscred_ready 1' && break
    sleep 0.1
  done
  rc=0
  python3 bench/e2e_latency.py --data "$DATA" --skip-rows "$TRAIN_ROWS" --entities "$e" \
    --rate "$RATE" --duration "$DURATION" --drain "$DRAIN" --window "$WINDOW" --step "$STEP" \
    --tcp-port "$TCP_PORT" --metrics-port "$METRICS_PORT" >"$OUT/run-$e.json" || rc=$?
  kill -TERM "$pid"
  wait "$pid" || true
  python3 - "$OUT/run-$e.json" "$rc" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
note = "" if sys.argv[2] == "0" else f" (only {r['steps_scored']:.0f} of {r['steps_expected']} steps scored)"
print(f"| {r['entities']} | {r['offered_rate']:g} | {r['samples_sent']} | {r['samples_per_s']} | "
      f"{r['steps_per_s']} | {r['p50_ms']} | {r['p99_ms']} | {r['wall_s']}{note} |")
EOF
done
