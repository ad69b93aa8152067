#!/usr/bin/env python3
# One run of bench/e2e_latency.sh: sends 38-sensor SMD rows as JSON records (array form) for
# E entities "e0".."e<E-1>" to a running mscredd over TCP, paced at RATE samples/s in total
# (0 = as fast as TCP takes them) for DURATION seconds, waits until every step is scored (or
# DRAIN seconds pass), then reads /metrics and prints one result line as JSON.
#
# Latency quantiles are interpolated linearly inside the buckets of the
# mscred_end_to_end_latency_seconds histogram (as Prometheus' histogram_quantile does), so
# they are only as fine as its bucket bounds.
import argparse, json, socket, sys, time, urllib.request


def scrape(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    counters, buckets = {}, []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name_labels, value = line.rsplit(" ", 1)
        if name_labels.startswith("mscred_end_to_end_latency_seconds_bucket"):
            le = name_labels.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(value)))
        else:
            name = name_labels.split("{")[0]
            counters[name] = counters.get(name, 0.0) + float(value)
    return counters, sorted(buckets)


def quantile(q, buckets):
    total = buckets[-1][1] if buckets else 0
    if total == 0:
        return float("nan")
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"):
                return float("inf")  # past the last finite bound: only "above it" is known
            return prev_le + (le - prev_le) * (rank - prev_c) / max(c - prev_c, 1e-12)
        prev_le, prev_c = le, c
    return prev_le


def ms(seconds):
    if seconds == float("inf"):
        return "> %g" % (1e3 * LAST_BOUND)
    return round(1e3 * seconds, 1)


LAST_BOUND = 10.0  # last finite bucket bound of mscred_end_to_end_latency_seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="SMD .txt file (38 values per row)")
    ap.add_argument("--skip-rows", type=int, default=0, help="rows used for training")
    ap.add_argument("--entities", type=int, required=True)
    ap.add_argument("--rate", type=float, default=200.0, help="samples/s in total, 0 = max")
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--per-entity", type=int, default=0,
                    help="stop after this many samples per entity (0 = only the duration)")
    ap.add_argument("--drain", type=float, default=20.0)
    ap.add_argument("--window", type=int, required=True, help="samples of the first step")
    ap.add_argument("--step", type=int, required=True)
    ap.add_argument("--tcp-port", type=int, required=True)
    ap.add_argument("--metrics-port", type=int, required=True)
    a = ap.parse_args()

    rows = [l.strip() for l in open(a.data) if l.strip()][a.skip_rows:]
    E = a.entities
    base, _ = scrape(a.metrics_port)
    s = socket.create_connection(("127.0.0.1", a.tcp_port))
    sent = [0] * E
    n = 0
    t0 = time.time()
    tick = 0.01
    while True:
        now = time.time()
        if now - t0 >= a.duration or (a.per_entity and n >= a.per_entity * E):
            break
        target = int((now - t0) * a.rate) + 1 if a.rate > 0 else n + 10 * E
        if a.per_entity:
            target = min(target, a.per_entity * E)
        chunk = []
        while n < target:
            e = n % E
            t = sent[e]
            row = rows[(t + 7 * e) % len(rows)]
            chunk.append('{"entity": "e%d", "ts": %d, "values": [%s]}\n' % (e, t, row))
            sent[e] += 1
            n += 1
        if chunk:
            s.sendall("".join(chunk).encode())
        if a.rate > 0:
            time.sleep(tick)
    t_sent = time.time()
    s.close()

    steps = sum((k - a.window) // a.step + 1 for k in sent if k >= a.window)
    while True:
        c, _ = scrape(a.metrics_port)
        done = c.get("mscred_steps_scored_total", 0) - base.get("mscred_steps_scored_total", 0)
        if done >= steps or time.time() - t_sent > a.drain:
            break
        time.sleep(0.05)
    t_end = time.time()
    c, buckets = scrape(a.metrics_port)
    d = lambda k: c.get(k, 0.0) - base.get(k, 0.0)
    wall = t_end - t0
    out = {
        "entities": E,
        "offered_rate": a.rate,
        "samples_sent": n,
        "send_s": round(t_sent - t0, 2),
        "wall_s": round(wall, 2),
        "samples_ingested": d("mscred_samples_ingested_total"),
        "steps_expected": steps,
        "steps_scored": d("mscred_steps_scored_total"),
        "alerts": d("mscred_alerts_total"),
        "rejected": d("mscred_records_rejected_total"),
        "samples_per_s": round(d("mscred_samples_ingested_total") / wall, 1),
        "steps_per_s": round(d("mscred_steps_scored_total") / wall, 1),
        "latency_count": buckets[-1][1] if buckets else 0,
        "p50_ms": ms(quantile(0.5, buckets)),
        "p99_ms": ms(quantile(0.99, buckets)),
    }
    print(json.dumps(out))
    return 0 if out["steps_scored"] >= steps else 1


if __name__ == "__main__":
    sys.exit(main())
