#!/usr/bin/env bash
# One command: install what is needed, build, and run the main job on an embedded default.
#
# The main job: train a small MSCRED model on real server metrics (SMD machine-1-6 from
# ../shared/data/smd, or the paper's synthetic data when that folder is absent), start
# mscredd with a TCP source and JSON alerts on stdout, replay the test file into it over
# TCP, print each alert (severity, scores against thresholds, root-cause sensors and
# pairs) as it happens, and summarise the alerts against the labelled segments.
#
# Sizes are kept small so it finishes in minutes on 2 cores; override with
# DEMO_TRAIN_ROWS, DEMO_TEST_ROWS, DEMO_EPOCHS, DEMO_TRAIN_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh

export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
out="${MSCRED_DEMO_DIR:-out/demo}"
mkdir -p "$out"
mscred=./build/daemon/mscred
mscredd=./build/daemon/mscredd
train_rows="${DEMO_TRAIN_ROWS:-3000}"
test_rows="${DEMO_TEST_ROWS:-6000}"
epochs="${DEMO_EPOCHS:-3}"
train_seconds="${DEMO_TRAIN_SECONDS:-240}"

# 1. Data: SMD if the shared data is there, else the synthetic benchmark.
smd=../shared/data/smd/ServerMachineDataset
if [ -d "$smd" ]; then
  entity=machine-1-6
  train="$smd/train/$entity.txt"
  test="$smd/test/$entity.txt"
  interpretation="$smd/interpretation_label/$entity.txt"
  echo "== data: SMD $entity (38 server metrics, one row a minute)"
else
  entity=synthetic
  "$mscred" synth --seed 0 --out "$out/synth"
  train="$out/synth/train.csv"
  test="$out/synth/test.csv"
  interpretation="$out/synth/interpretation_label.txt"
  echo "== data: synthetic (../shared/data/smd not found)"
fi

# 2. Train a small model (the first $train_rows rows, a few epochs).
model="$out/$entity.mscred"
echo "== training on $train_rows rows, at most $epochs epochs / $train_seconds s"
# lr 1e-3 with batch 8 instead of the defaults (2e-4, 32): with a budget of a few epochs
# the defaults make too few Adam updates, and the thresholds fitted on such a model are
# above the largest possible count, so it could never alert.
"$mscred" train --data "$train" --out "$model" --max-rows "$train_rows" \
  --epochs "$epochs" --max-seconds "$train_seconds" --lr 1e-3 --batch 8 --threads 1 --seed 0

# 3. Start mscredd on free loopback ports with that model.
read -r tcp_port metrics_port health_port < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
)
cat >"$out/mscredd.yaml" <<EOF
sources:
  - type: tcp
    listen: 127.0.0.1:$tcp_port
models:
  - name: default
    path: $model
entities:
  unknown: default
  default_model: default
worker:
  threads: 1
sinks:
  log: {enabled: true, stream: stdout}
metrics:
  listen: 127.0.0.1:$metrics_port
health:
  listen: 127.0.0.1:$health_port
logging:
  level: warn
EOF
"$mscredd" --check-config "$out/mscredd.yaml"
alerts="$out/alerts.jsonl"
: >"$alerts"
"$mscredd" --config "$out/mscredd.yaml" >"$alerts" 2>"$out/mscredd.log" &
daemon_pid=$!
trap 'kill "$daemon_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$health_port/readyz', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    echo "mscredd exited during start-up:"; cat "$out/mscredd.log"; exit 1
  fi
  sleep 0.2
done
echo "== mscredd ready (tcp $tcp_port, metrics http://127.0.0.1:$metrics_port/metrics)"

# 4. Replay the test file over TCP; alerts print as they arrive, then the summary.
echo "== replaying the first $test_rows test rows as entity $entity"
python3 tools/demo_feed.py --port "$tcp_port" --data "$test" --entity "$entity" \
  --rows "$test_rows" --interpretation "$interpretation" --alerts "$alerts" \
  --metrics "http://127.0.0.1:$metrics_port/metrics"

# 5. SIGTERM: the daemon drains, flushes and exits 0.
kill -TERM "$daemon_pid"
wait "$daemon_pid"
trap - EXIT
echo "== mscredd stopped cleanly; alerts in $alerts, daemon log in $out/mscredd.log"
