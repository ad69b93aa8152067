#!/usr/bin/env python3
"""How event P/R/F1 would move with beta, from saved synth.sh runs (a sensitivity, not a result).

    bench/train_eval/beta_sweep.py RUN_DIR [RUN_DIR ...] [--betas 1.5,1.25,1.0]

RUN_DIR is one seed directory of bench/train_eval/synth.sh (summary.json, steps.csv,
data/interpretation_label.txt). The w = 10 threshold is tau = beta_train * max(validation
count), so max = tau / beta_train (beta_train 1.5, the default, unless --trained-beta); for
each beta the detections are count_w10 > beta * max and the event rule is re-implemented
here (pipeline/evaluation.h: a step hits a segment when its row is in [begin, end + 60),
events are runs of consecutive detecting steps). The trained beta must reproduce
summary.json's event F1 (printed beside it). Any beta picked from this table is picked on
the test labels: an ORACLE choice, never a result. Standard library only.
"""
import csv
import json
import os
import sys


def event_metrics(rows, detected, segments, tolerance):
    runs, current = [], None
    for row, d in zip(rows, detected):
        if d:
            if current is None:
                current = []
                runs.append(current)
            current.append(row)
        else:
            current = None
    hit = [False] * len(segments)
    true_runs = 0
    for run in runs:
        found = False
        for k, (b, e) in enumerate(segments):
            if any(b <= r < e + tolerance for r in run):
                found = hit[k] = True
        true_runs += found
    p = true_runs / len(runs) if runs else 0.0
    r = sum(hit) / len(segments) if segments else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def main(argv):
    betas, trained, dirs = [1.5, 1.25, 1.0], 1.5, []
    i = 1
    while i < len(argv):
        if argv[i] == "--betas":
            betas = [float(b) for b in argv[i + 1].split(",")]
            i += 2
        elif argv[i] == "--trained-beta":
            trained = float(argv[i + 1])
            i += 2
        else:
            dirs.append(argv[i])
            i += 1
    if not dirs:
        sys.exit(__doc__)
    print("| run | summary.json event F1 | " + " | ".join(f"beta {b}: P / R / F1" for b in betas) + " |")
    print("|---|---|" + "---|" * len(betas))
    for d in dirs:
        if not os.path.exists(os.path.join(d, "summary.json")):
            print(f"| {d} | no summary.json (run not finished?) |")
            continue
        s = json.load(open(os.path.join(d, "summary.json")))
        top = s["thresholds"][0] / trained
        steps = list(csv.DictReader(open(os.path.join(d, "steps.csv"))))
        rows = [int(x["row"]) for x in steps]
        counts = [int(x["count_w10"]) for x in steps]
        segments = []
        for line in open(os.path.join(d, "data", "interpretation_label.txt")):
            if line.strip():
                b, e = line.split(":")[0].split("-")
                segments.append((int(b), int(e)))
        cells = []
        for beta in betas:
            p, r, f = event_metrics(rows, [c > beta * top for c in counts], segments, 60)
            cells.append(f"{p:.2f} / {r:.2f} / {f:.2f}")
        print(f"| {d} | {s['event']['f1']:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv)
