#!/usr/bin/env bash
# Where the time goes in mscredd end to end: 100 entities x 38 sensors over TCP (JSON,
# array form, SMD rows) into the real n = 38 model of bench/e2e_latency.sh, sampled with
# `perf record` (Debian: apt-get install -y linux-perf; needs perf_event access) for the
# whole run, then grouped by stage (ingest / signatures / model / scoring / publishing) by
# bench/profile_summary.py. Outside CI. From the repo root after a Release build:
#
#   MODEL=out/e2e/model.ckpt bench/profile_e2e.sh        # or without MODEL: trains one
#
# The load: PER_ENTITY samples per entity, sent as fast as TCP takes them (RATE=0) or at
# RATE samples/s in total, then drained; worker: THREADS thread(s), max_batch MAX_BATCH.
set -euo pipefail
cd "$(dirname "$0")/.."
MSCRED=${MSCRED:-build/daemon/mscred}
MSCREDD=${MSCREDD:-build/daemon/mscredd}
DATA=${DATA:-../shared/data/smd/ServerMachineDataset/train/machine-1-6.txt}
OUT=${OUT:-out/profile}
MODEL=${MODEL:-}
ENTITIES=${ENTITIES:-100}
PER_ENTITY=${PER_ENTITY:-60}
RATE=${RATE:-0}
MAX_BATCH=${MAX_BATCH:-32}
THREADS=${THREADS:-1}
FREQ=${FREQ:-499}
TCP_PORT=${TCP_PORT:-17985}
METRICS_PORT=${METRICS_PORT:-19471}
mkdir -p "$OUT"
if [ -z "$MODEL" ]; then
  MODEL="$OUT/model.ckpt"
  "$MSCRED" train --data "$DATA" --max-rows 700 --out "$MODEL" --model-id smd-profile \
    --scales 5,10 --step 10 --history 3 --val-fraction 0.25 --lr 2e-3 --batch 16 \
    --epochs 1 --theta 2.0 --threads "$THREADS" >"$OUT/train.log" 2>&1
fi
cat >"$OUT/mscredd.yaml" <<YAML
sources: [{type: tcp, listen: "127.0.0.1:$TCP_PORT"}]
models: [{name: smd, path: "$MODEL"}]
entities: {unknown: default, default_model: smd}
worker: {device: cpu, threads: $THREADS, max_batch: $MAX_BATCH, max_wait_ms: 5}
sinks: {log: {enabled: true, stream: stdout}}
metrics: {listen: "127.0.0.1:$METRICS_PORT"}
health: {enabled: false}
logging: {level: warn}
YAML
"$MSCREDD" --config "$OUT/mscredd.yaml" >"$OUT/alerts.jsonl" 2>"$OUT/mscredd.err" &
pid=$!
for _ in $(seq 200); do
  # Ready once the model is loaded and the sources listen (/metrics answers earlier).
  curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null | grep -q '^mscred_ready 1' && break
  sleep 0.1
done
perf record -F "$FREQ" -p "$pid" -o "$OUT/perf.data" 2>"$OUT/perf.err" &
perf_pid=$!
sleep 0.5
python3 bench/e2e_latency.py --data "$DATA" --skip-rows 700 --entities "$ENTITIES" \
  --rate "$RATE" --duration 600 --per-entity "$PER_ENTITY" --drain 300 --window 30 --step 10 \
  --tcp-port "$TCP_PORT" --metrics-port "$METRICS_PORT" >"$OUT/run.json" || true
kill -INT "$perf_pid"
wait "$perf_pid" || true
kill -TERM "$pid"
wait "$pid" || true
cat "$OUT/run.json"
perf report -i "$OUT/perf.data" --stdio --no-children --sort dso,sym 2>/dev/null >"$OUT/report.txt"
python3 bench/profile_summary.py <"$OUT/report.txt"
