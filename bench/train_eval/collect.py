#!/usr/bin/env python3
"""Markdown rows of the runs under a synth.sh / smd.sh output root.

    bench/train_eval/collect.py out/train_eval

For every directory holding summary.json (and train.log): epochs, best validation loss,
thresholds, training windows/s, then the metrics of summary.json and, when present, of
summary_detect1.json (detection on the w = 30 scale with its validation threshold).
Standard library only.
"""
import json
import os
import re
import sys


def train_facts(path):
    facts = {}
    if not os.path.exists(path):
        return facts
    text = open(path).read()
    m = re.search(r"epochs run (\d+) \(best (\d+)([^)]*)\)", text)
    if m:
        facts["epochs"] = f"{m.group(1)} (best {m.group(2)}{m.group(3)})"
    m = re.search(r"best validation loss ([0-9.e+-]+)", text)
    if m:
        facts["val"] = float(m.group(1))
    m = re.search(r"training ([0-9.]+) windows/s over ([0-9.]+) s", text)
    if m:
        facts["wps"], facts["secs"] = float(m.group(1)), float(m.group(2))
    m = re.search(r"windows: (\d+) training, (\d+) validation", text)
    if m:
        facts["windows"] = f"{m.group(1)}/{m.group(2)}"
    return facts


def metrics(s):
    e = s.get("event", {})
    out = (f"event P {e.get('precision', 0):.2f} R {e.get('recall', 0):.2f} "
           f"F1 {e.get('f1', 0):.2f} ({e.get('segments_detected', 0)}/{e.get('segments', 0)})"
           f"; point F1 {s.get('point', {}).get('f1', 0):.3f}, adjusted "
           f"{s.get('point_adjusted', {}).get('f1', 0):.3f}; ORACLE {s.get('oracle_best_f1', 0):.3f}")
    if "hit_rate_100" in s:
        out += (f"; HitRate@100/150 {s['hit_rate_100']:.2f}/{s['hit_rate_150']:.2f}"
                f"; top-3 cause recall {s['top_k_cause_recall']:.2f}")
    return out


def main(root):
    for d, _, files in sorted(os.walk(root)):
        if "summary.json" not in files:
            continue
        s = json.load(open(os.path.join(d, "summary.json")))
        t = train_facts(os.path.join(d, "train.log"))
        tau = "/".join(f"{v:g}" for v in s.get("thresholds", []))
        row = (f"| {os.path.relpath(d, root)} | {t.get('windows', '?')} | {t.get('epochs', '?')} | "
               f"{t.get('val', float('nan')):.3g} | {tau} | {metrics(s)}")
        alt = os.path.join(d, "summary_detect1.json")
        if os.path.exists(alt):
            row += " || w = 30: " + metrics(json.load(open(alt)))
        row += f" | {t.get('wps', 0):.1f} / {s.get('inference_windows_per_s', 0):.1f} |"
        print(row)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
