#!/usr/bin/env bash
# The by-hand soak: an hour (DURATION seconds) at RATE records/s against build/daemon/mscredd,
# sampling RSS and queue depth every INTERVAL s. Not nice'd by default: run it on an idle
# machine, or prefix `nice -n 10`. usage: bench/robustness/soak.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 bench/robustness/soak.py --mscredd "${MSCREDD:-build/daemon/mscredd}" \
  --duration "${DURATION:-3600}" --rate "${RATE:-2000}" --entities "${ENTITIES:-20}" \
  --interval "${INTERVAL:-30}" --warmup "${WARMUP:-120}" "$@"
