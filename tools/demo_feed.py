#!/usr/bin/env python3
"""Feeds a test file to a running mscredd over TCP, prints its alerts as they arrive, and
summarises them against the labels.

The demo's client side (tools/run-demo.sh starts the daemon). It sends each row as one
JSON record {"entity", "ts" (the row number), "values" (array in model sensor order)},
follows the daemon's alert lines (JSON, one per line, written to --alerts), waits until
the daemon has scored every step it was sent (mscred_steps_scored_total on /metrics), and
then reports which labelled segments were alerted on.

Standard library only, so it runs on a fresh Debian with python3.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.request


def read_rows(path, max_rows):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            fields = line.split(",")
            try:
                rows.append([float(v) for v in fields])
            except ValueError:
                continue  # a header row
            if max_rows and len(rows) >= max_rows:
                break
    return rows


def read_segments(path, max_rows):
    """SMD interpretation_label lines `start-end:d1,d2,...` (end exclusive, 1-based metrics)."""
    segments = []
    if not path or not os.path.exists(path):
        return segments
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            span, _, causes = line.partition(":")
            begin, end = (int(v) for v in span.split("-"))
            if max_rows and begin >= max_rows:
                continue
            segments.append((begin, min(end, max_rows or end),
                             [int(c) - 1 for c in causes.split(",") if c]))
    return sorted(segments)


def steps_scored(metrics_url):
    try:
        text = urllib.request.urlopen(metrics_url, timeout=2).read().decode()
    except OSError:
        return None
    total = 0.0
    for line in text.splitlines():
        if line.startswith("mscred_steps_scored_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


class AlertFollower(threading.Thread):
    """Tails the daemon's stdout file and prints each alert line as it appears."""

    def __init__(self, path, sensor_names):
        super().__init__(daemon=True)
        self.path, self.names = path, sensor_names
        self.alerts, self.stop = [], threading.Event()

    def run(self):
        while not os.path.exists(self.path) and not self.stop.is_set():
            time.sleep(0.05)
        with open(self.path) as f:
            while True:
                line = f.readline()
                if not line:
                    if self.stop.is_set():
                        return
                    time.sleep(0.05)
                    continue
                try:
                    alert = json.loads(line)
                except ValueError:
                    continue
                if "annotations" not in alert:
                    continue
                self.alerts.append(alert)
                self.show(alert)

    def show(self, alert):
        a, labels = alert["annotations"], alert["labels"]
        scores = " ".join(f"w{k}={v:g}/{a['thresholds'].get(k, 0):g}"
                          for k, v in a["scores"].items())
        sensors = ", ".join(f"{s['sensor']}({s['count']})" for s in a["top_sensors"])
        pairs = ", ".join(f"{p['a']}-{p['b']}" for p in a["top_pairs"])
        print(f"ALERT {labels['entity']} row {int(a['step_ts']):>6} severity={labels['severity']:<6} "
              f"score/threshold {scores}  top sensors: {sensors}  pairs: {pairs}", flush=True)


def summarise(alerts, segments, max_window, n_rows):
    alert_rows = sorted(int(a["annotations"]["step_ts"]) for a in alerts)
    print(f"\nsummary: {len(alert_rows)} alerts over {n_rows} rows, "
          f"{len(segments)} labelled segments in that range")
    if not segments:
        return
    found, hits_by_alert = 0, set()
    for begin, end, causes in segments:
        # An alert at row r covers rows (r - max_window, r]: it sees the segment if its
        # newest row is inside [begin, end + max_window).
        hit = [r for r in alert_rows if begin <= r < end + max_window]
        hits_by_alert.update(hit)
        mark = "detected" if hit else "missed"
        found += bool(hit)
        print(f"  segment rows {begin:>6}-{end:<6} ({end - begin:>4} rows, "
              f"{len(causes):>2} cause sensors): {mark}"
              + (f" (first alert at row {hit[0]})" if hit else ""))
    false_alerts = len([r for r in alert_rows if r not in hits_by_alert])
    print(f"  segments detected: {found}/{len(segments)}; alerts outside any segment: "
          f"{false_alerts}/{len(alert_rows)}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--data", required=True)
    p.add_argument("--entity", required=True)
    p.add_argument("--rows", type=int, default=0, help="send only the first N rows")
    p.add_argument("--interpretation", help="SMD interpretation_label file for the summary")
    p.add_argument("--alerts", required=True, help="file the daemon writes alert lines to")
    p.add_argument("--metrics", required=True, help="http://host:port/metrics of the daemon")
    p.add_argument("--max-window", type=int, default=60)
    p.add_argument("--step", type=int, default=10)
    p.add_argument("--warmup", type=int, default=100, help="rows before the first step")
    p.add_argument("--timeout", type=float, default=600)
    args = p.parse_args()

    rows = read_rows(args.data, args.rows)
    follower = AlertFollower(args.alerts, None)
    follower.start()

    with socket.create_connection((args.host, args.port)) as conn:
        buf = []
        for i, values in enumerate(rows):
            buf.append(json.dumps({"entity": args.entity, "ts": i, "values": values}))
            if len(buf) == 500:
                conn.sendall(("\n".join(buf) + "\n").encode())
                buf = []
        if buf:
            conn.sendall(("\n".join(buf) + "\n").encode())
    expected = max(0, (len(rows) - args.warmup) // args.step + 1)
    print(f"sent {len(rows)} rows of {args.data} as entity {args.entity}; "
          f"waiting for {expected} steps to be scored", flush=True)

    deadline = time.time() + args.timeout
    done = steps_scored(args.metrics) or 0
    while done < expected and time.time() < deadline:
        time.sleep(0.5)
        done = steps_scored(args.metrics) or done
    time.sleep(0.5)  # let the last alert lines reach the file
    follower.stop.set()
    follower.join(timeout=5)
    if done < expected:
        print(f"timed out: {done:.0f} of {expected} steps scored", file=sys.stderr)
    summarise(follower.alerts, read_segments(args.interpretation, len(rows)),
              args.max_window, len(rows))
    return 0 if done >= expected else 1


if __name__ == "__main__":
    sys.exit(main())
