#!/usr/bin/python3
"""Root-cause ranking by excess over the normal residual, measured on saved synth.sh runs.

    OMP_NUM_THREADS=1 /usr/bin/python3 bench/train_eval/excess_rank.py RUN_DIR [RUN_DIR ...]

RUN_DIR is one seed directory of bench/train_eval/synth.sh (model.ckpt, data/, steps.csv,
summary.json). For each: the per-element mean residual of the validation windows (the last
validation_fraction of data/train.csv, the windows `mscred train` fitted the thresholds on) is
computed with the Python reference network and the checkpoint's weights; then every test
step's sensors are ranked twice at the cause scale:
  plain:  count of row+column elements with residual > theta, ties by residual mass
          (pipeline::rank_sensors, what the product does);
  excess: the same with residual - validation mean in place of the residual.
HitRate@100/150 (every step whose window overlaps the segment) and top-3 cause recall (the
detecting steps of detected segments, detections from steps.csv) follow pipeline/evaluation.h.
The plain figures must equal summary.json's (printed side by side): that checks this
re-implementation before the excess figures are read. Needs python3-torch and
shared/bench/mscred_ref.py (as residual_maps.py).
"""
import csv
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from residual_maps import mscred_ref, read_checkpoint, read_data, signatures  # noqa: E402


def residuals(model, sig, hist, forecast, first=None):
    """Residual of every window ending at step index >= hist - 1 (or the given ones)."""
    idx = list(range(hist - 1, len(sig))) if first is None else first
    out = []
    with torch.no_grad():
        for b in range(0, len(idx), 64):
            chunk = idx[b:b + 64]
            win = torch.from_numpy(np.stack([sig[i - hist + 1:i + 1] for i in chunk]))
            xhat = model(win[:, :-1] if forecast else win)
            out.append(((win[:, -1] - xhat) ** 2).numpy())
    return np.concatenate(out)


def sensor_scores(r, theta):
    """Per sensor (count of row+column elements > theta, mass), r [n, n], diagonal once."""
    above = r > theta
    count = above.sum(axis=1) + above.sum(axis=0) - np.diag(above)
    mass = r.sum(axis=1) + r.sum(axis=0) - np.diag(r)
    return count.astype(np.int64), mass


def ranking(count, mass):
    n = len(count)
    return sorted(range(n), key=lambda k: (-count[k], -mass[k], k))


def hit_rate(rank, causes, percent):
    top = rank[:int(math.floor(percent / 100.0 * len(causes)))]
    return len(set(top) & set(causes)) / len(causes)


def evaluate(rows, detected, counts, masses, segments, wmax, k=3):
    h100, h150, rec = [], [], []
    for b, e, causes in segments:
        sel = (rows >= b) & (rows < e + wmax - 1)
        if sel.any():
            rk = ranking(counts[sel].sum(0), masses[sel].sum(0))
            h100.append(hit_rate(rk, causes, 100))
            h150.append(hit_rate(rk, causes, 150))
        det = detected & (rows >= b) & (rows < e + wmax)
        if det.any():
            rk = ranking(counts[det].sum(0), masses[det].sum(0))
            rec.append(len(set(rk[:k]) & set(causes)) / len(causes))
    mean = lambda v: sum(v) / len(v) if v else float("nan")  # noqa: E731
    return mean(h100), mean(h150), mean(rec), len(rec)


def run(d):
    _, meta, tensors = read_checkpoint(os.path.join(d, "model.ckpt"))
    scales, step = meta["signature"]["scales"], meta["signature"]["step"]
    hist, theta = meta["signature"]["history"], meta["score"]["theta"]
    scale = meta["score"]["detect_scale"]
    if meta["score"].get("cause_scale", -2) >= 0:
        scale = meta["score"]["cause_scale"]
    forecast = meta["net"].get("objective", "reconstruct") == "forecast"
    net = mscred_ref.MSCREDRef(in_ch=len(scales), k_lstm=meta["net"]["lstm_kernel"])
    net.load_state_dict(tensors)
    net.eval()
    norm = meta["normaliser"]
    scale_x = lambda raw: (raw - np.array(norm["offset"])) / np.array(norm["scale"])  # noqa: E731
    wmax = max(scales)

    # Validation windows as mscred train chose them: oldest row at or after the split.
    train = read_data(os.path.join(d, "data", "train.csv"), 0)
    frac = meta["training"].get("validation_fraction", 0.2)
    split = int(math.floor(len(train) * (1.0 - frac)))
    reach = (hist - 1) * step + wmax - 1
    trows, tsig = signatures(scale_x(train), scales, step)
    val = [i for i in range(hist - 1, len(trows)) if trows[i] >= reach and trows[i] - reach >= split]
    mu = residuals(net, tsig, hist, forecast, val).mean(axis=0)  # [scales, n, n]

    test = read_data(os.path.join(d, "data", "test.csv"), 0)
    rows, sig = signatures(scale_x(test), scales, step)
    res = residuals(net, sig, hist, forecast)
    rows = rows[hist - 1:]
    steps = list(csv.DictReader(open(os.path.join(d, "steps.csv"))))
    assert [int(s["row"]) for s in steps] == list(rows), "steps.csv rows differ"
    detected = np.array([s["detected"] == "1" for s in steps])
    segments = []
    for line in open(os.path.join(d, "data", "interpretation_label.txt")):
        if line.strip():
            span, causes = line.strip().split(":")
            b, e = (int(v) for v in span.split("-"))
            segments.append((b, e, [int(c) - 1 for c in causes.split(",")]))

    out = {}
    for name, r in (("plain", res[:, scale]), ("excess", res[:, scale] - mu[scale])):
        cm = [sensor_scores(r[t], theta) for t in range(len(r))]
        counts = np.stack([c for c, _ in cm])
        masses = np.stack([m for _, m in cm])
        out[name] = evaluate(rows, detected, counts, masses, segments, wmax)
    s = json.load(open(os.path.join(d, "summary.json")))
    return out, s, "forecast" if forecast else "reconstruct"


def main(dirs):
    if not dirs:
        sys.exit(__doc__)
    torch.set_num_threads(1)
    print("| run | objective | plain HitRate@100/150, top-3 recall (segments) | summary.json "
          "(same, from mscred eval) | excess HitRate@100/150, top-3 recall |")
    print("|---|---|---|---|---|")
    for d in dirs:
        out, s, objective = run(d)
        p, e = out["plain"], out["excess"]
        print(f"| {d} | {objective} | {p[0]:.2f} / {p[1]:.2f}, {p[2]:.2f} ({p[3]}) | "
              f"{s.get('hit_rate_100', float('nan')):.2f} / {s.get('hit_rate_150', float('nan')):.2f}"
              f", {s.get('top_k_cause_recall', float('nan')):.2f} | "
              f"{e[0]:.2f} / {e[1]:.2f}, {e[2]:.2f} ({e[3]}) |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
