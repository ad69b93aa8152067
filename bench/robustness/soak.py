#!/usr/bin/env python3
"""Soak run of a real mscredd: a steady TCP feed for a bounded time, sampling the daemon's
resident memory (/proc/<pid>/status VmRSS) and queue depth (mscred_queue_depth on /metrics)
every few seconds. The model is the built-in deterministic stand-in (fake scorer, sensors
a, b, c), so the run measures the daemon, not a model's forward pass.

usage: soak.py --mscredd BIN [--duration 60] [--rate 2000] [--entities 20]
               [--interval 5] [--warmup 20] [--check]

--check (the CI test) fails when, after the warm-up, resident memory grows by more than
max(16 MiB, 20 %) over the first sample after the warm-up, when any sampled queue depth is
above --rate (records queued for more than a second), or when a sent sample is missing from
mscred_samples_ingested_total at the end. By hand: --duration 3600 (bench/robustness/soak.sh).
"""
import argparse
import contextlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def metric(text, name):
    total = 0.0
    found = False
    for line in text.splitlines():
        if line.startswith(name) and (len(line) == len(name) or line[len(name)] in " {"):
            total += float(line.split()[-1])
            found = True
    return total if found else None


class ReadyTimeout(Exception):
    pass


@contextlib.contextmanager
def running_daemon(mscredd, config_text, prefix, health_port):
    """Starts mscredd on `config_text` (written to a temporary directory), waits until its
    /readyz answers (ReadyTimeout with the log when it exits or 30 s pass), and stops it
    (SIGTERM, then SIGKILL after 30 s) when the block ends. Yields the Popen."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    config = os.path.join(tmp, "mscredd.yaml")
    with open(config, "w") as f:
        f.write(config_text)
    log_path = os.path.join(tmp, "mscredd.log")
    with open(log_path, "w") as log:
        daemon = subprocess.Popen([mscredd, "--config", config], stdout=log, stderr=log)
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{health_port}/readyz", timeout=1)
                break
            except Exception:
                if daemon.poll() is not None or time.time() > deadline:
                    raise ReadyTimeout("mscredd did not become ready; log:\n" +
                                       open(log_path).read())
                time.sleep(0.1)
        yield daemon
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mscredd", required=True)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--rate", type=int, default=2000, help="records per second")
    ap.add_argument("--entities", type=int, default=20)
    ap.add_argument("--interval", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=20)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()

    tcp_port, metrics_port, health_port = free_port(), free_port(), free_port()
    config = f"""sources:
  - type: tcp
    listen: 127.0.0.1:{tcp_port}
models:
  - name: fake
    fake: {{sensors: [a, b, c], level: 100}}
entities: {{unknown: default, default_model: fake}}
sinks: {{log: {{enabled: true, stream: stdout}}}}
logging: {{level: warn}}
metrics: {{listen: 127.0.0.1:{metrics_port}, max_entities: 1000}}
health: {{listen: 127.0.0.1:{health_port}}}
"""
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        with running_daemon(a.mscredd, config, "mscred_soak_", health_port) as daemon:
            sock = socket.create_connection(("127.0.0.1", tcp_port))
            rng = random.Random(1)
            sent = 0
            ts = [0] * a.entities
            t0 = time.time()
            next_sample = t0
            samples = []  # (elapsed s, rss KiB, queue depth, ingested)
            tick = 0.05
            print(f"soak: {a.rate} records/s over {a.entities} entities for {a.duration:.0f} s, "
                  f"mscredd pid {daemon.pid}")
            print(f"{'t_s':>7} {'rss_kib':>9} {'queue':>6} {'ingested':>10} {'sent':>10}")
            while True:
                now = time.time()
                elapsed = now - t0
                if now >= next_sample:
                    text = urllib.request.urlopen(url, timeout=5).read().decode()
                    row = (elapsed, rss_kib(daemon.pid), metric(text, "mscred_queue_depth") or 0,
                           metric(text, "mscred_samples_ingested_total") or 0)
                    samples.append(row)
                    print(f"{row[0]:7.1f} {row[1]:9d} {row[2]:6.0f} {row[3]:10.0f} {sent:10d}",
                          flush=True)
                    next_sample += a.interval
                if elapsed >= a.duration:
                    break
                due = int(elapsed * a.rate) + 1
                lines = []
                while sent < due:
                    e = sent % a.entities
                    ts[e] += 1
                    lines.append(f"m{e},{ts[e]},{rng.random():.4f},{rng.random():.4f},"
                                 f"{rng.random():.4f}\n")
                    sent += 1
                if lines:
                    sock.sendall("".join(lines).encode())
                time.sleep(tick)
            sock.close()
            # Every sent record must be ingested (nothing dropped under steady load).
            ingested = 0
            for _ in range(100):
                text = urllib.request.urlopen(url, timeout=5).read().decode()
                ingested = metric(text, "mscred_samples_ingested_total") or 0
                if ingested >= sent:
                    break
                time.sleep(0.1)
            rejected = metric(text, "mscred_records_rejected_total") or 0
            print(f"sent {sent}, ingested {ingested:.0f}, rejected {rejected:.0f}")
            after = [s for s in samples if s[0] >= a.warmup]
            ok = True
            if after:
                base = after[0][1]
                peak = max(s[1] for s in after)
                growth = peak - base
                print(f"rss after warm-up: first {base} KiB, peak {peak} KiB, growth {growth} KiB "
                      f"({100.0 * growth / base:.1f} %); max queue depth "
                      f"{max(s[2] for s in samples):.0f}")
                if a.check and growth > max(16 * 1024, 0.2 * base):
                    print("FAIL: resident memory grew after warm-up")
                    ok = False
            elif a.check:
                print("FAIL: no sample after the warm-up (duration too short)")
                ok = False
            if a.check and max(s[2] for s in samples) > a.rate:
                print("FAIL: queue depth above one second of records")
                ok = False
            if a.check and (ingested < sent or rejected > 0):
                print("FAIL: records lost or rejected")
                ok = False
            return 0 if ok else 1
    except ReadyTimeout as e:
        print(e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
