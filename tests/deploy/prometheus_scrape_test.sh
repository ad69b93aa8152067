#!/usr/bin/env bash
# Acceptance: a real Prometheus server scrapes a running mscredd and serves its score series.
#
# Usage: prometheus_scrape_test.sh MSCREDD CONFIG [FEED_COMMAND ...]
#
# Starts MSCREDD with a copy of CONFIG whose metrics, health (and TCP ingest, if any)
# listeners are moved to free loopback ports, waits for /readyz, runs FEED_COMMAND if given
# (with MSCRED_INGEST_PORT and MSCRED_HEALTH_PORT set, to push records when the config's
# source does not replay a file by itself), starts `prometheus` on loopback scraping it
# every second, and then asks Prometheus's HTTP API for `up`, `mscred_build_info` and
# `mscred_score`. Exits 0 when a score series came back through Prometheus, 1 on failure
# (with both logs), 77 (skip) when MSCREDD, CONFIG or a needed tool is missing.
#
# Env: MSCRED_SCRAPE_TIMEOUT_S (default 90) bounds the wait for the score series.
set -euo pipefail

if [ "$#" -lt 2 ]; then
  echo "usage: $0 MSCREDD CONFIG [FEED_COMMAND ...]" >&2
  exit 2
fi
mscredd="$1"
config="$2"
shift 2

skip() {
  echo "SKIP: $*"
  exit 77
}
[ -x "$mscredd" ] || skip "mscredd is not built yet ($mscredd); build the daemon, then rerun"
[ -f "$config" ] || skip "config $config does not exist yet"
for tool in prometheus curl python3; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed"

timeout_s="${MSCRED_SCRAPE_TIMEOUT_S:-90}"
work="$(mktemp -d "${TMPDIR:-/tmp}/mscred-scrape.XXXXXX")"
daemon_pid=""
prometheus_pid=""
cleanup() {
  # Only the processes this script started, by their pid.
  for pid in "$prometheus_pid" "$daemon_pid"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  echo "--- mscredd log (tail) ---"; tail -n 40 "$work/mscredd.log" 2>/dev/null || true
  echo "--- prometheus log (tail) ---"; tail -n 20 "$work/prometheus.log" 2>/dev/null || true
  exit 1
}

# Free loopback ports: bound and released by the kernel's choice (a small race, no clash
# with a daemon already on the default ports).
read -r metrics_port health_port ingest_port prometheus_port < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks:
    s.close()
EOF
)

# The config under test, with its listeners moved.
python3 - "$config" "$work/mscredd.yaml" "$metrics_port" "$health_port" "$ingest_port" <<'EOF'
import sys, yaml
src, dst, metrics, health, ingest = sys.argv[1:]
with open(src) as f:
    config = yaml.safe_load(f) or {}
config.setdefault("metrics", {})["listen"] = f"127.0.0.1:{metrics}"
config.setdefault("health", {})["listen"] = f"127.0.0.1:{health}"
sources = config.get("sources") or []
for source in sources if isinstance(sources, list) else []:
    if isinstance(source, dict) and source.get("type") == "tcp":
        # Either spelling of the TCP listener: `listen: host:port`, or `bind` + `port`.
        if "bind" in source or "port" in source:
            source["bind"], source["port"] = "127.0.0.1", int(ingest)
        else:
            source["listen"] = f"127.0.0.1:{ingest}"
with open(dst, "w") as f:
    yaml.safe_dump(config, f, sort_keys=False)
EOF
echo "mscredd: metrics 127.0.0.1:$metrics_port, health 127.0.0.1:$health_port, ingest $ingest_port"

"$mscredd" --config "$work/mscredd.yaml" >"$work/mscredd.log" 2>&1 &
daemon_pid=$!

# Ready = models loaded and sources listening (HealthServer /readyz).
ready=""
for _ in $(seq $((timeout_s * 5))); do
  kill -0 "$daemon_pid" 2>/dev/null || fail "mscredd exited before becoming ready"
  if curl -fsS -o /dev/null "http://127.0.0.1:$health_port/readyz" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.2
done
[ -n "$ready" ] || fail "mscredd not ready within ${timeout_s}s"
echo "mscredd ready"

if [ "$#" -gt 0 ]; then
  echo "feeding: $*"
  MSCRED_INGEST_PORT="$ingest_port" MSCRED_HEALTH_PORT="$health_port" "$@" \
    || fail "feed command failed: $*"
fi

cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mscredd
    static_configs:
      - targets: ["127.0.0.1:$metrics_port"]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prometheus_port" >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!

api="http://127.0.0.1:$prometheus_port/api/v1"
# Prints the number of series and the first series' labels and value for a PromQL query.
query() {
  curl -fsS --get "$api/query" --data-urlencode "query=$1" 2>/dev/null | python3 -c '
import json, sys
data = json.load(sys.stdin)["data"]["result"]
print(len(data), json.dumps(data[0]["metric"], sort_keys=True) if data else "-",
      data[0]["value"][1] if data else "-")' 2>/dev/null || echo "0 - -"
}

wait_for() {  # wait_for QUERY WHAT: until QUERY returns a series
  local what="$2" result
  for _ in $(seq $((timeout_s * 2))); do
    kill -0 "$prometheus_pid" 2>/dev/null || fail "prometheus exited"
    kill -0 "$daemon_pid" 2>/dev/null || fail "mscredd exited"
    result="$(query "$1")"
    if [ "${result%% *}" -gt 0 ]; then
      echo "$what: $result"
      return 0
    fi
    sleep 0.5
  done
  fail "no $what through Prometheus within ${timeout_s}s (query: $1)"
}

wait_for 'up{job="mscredd"} == 1' "successful scrape"
wait_for 'mscred_build_info{job="mscredd"}' "build info"
wait_for 'mscred_score{job="mscredd"}' "score series"
# The dashboard and the alerting rules may name only metrics this running daemon exports.
# Two families appear only after an event this feed does not cause (a rejected record, a
# Kafka source): they are taken from docs/interfaces.md instead (--conditional).
# (Only against the real daemon: the harness's static stand-in exports a few families.)
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if [ "$(basename "$mscredd")" != mscredd ]; then
  echo "PASS: Prometheus scraped $(basename "$mscredd") and serves mscred_score"
  exit 0
fi
curl -fsS "http://127.0.0.1:$metrics_port/metrics" >"$work/scrape.txt" || fail "cannot scrape /metrics"
python3 "$here/check_dashboard.py" "$repo/deploy/grafana/mscred-dashboard.json" \
  --interfaces "$repo/docs/interfaces.md" --rules "$repo/deploy/prometheus/mscred-rules.yml" \
  --scrape "$work/scrape.txt" --conditional mscred_records_rejected_total \
  --conditional mscred_kafka_consumer_lag || fail "dashboard or rules name a metric mscredd does not export"
echo "PASS: Prometheus scraped mscredd and serves mscred_score; dashboard and rules match its /metrics"
