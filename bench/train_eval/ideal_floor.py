#!/usr/bin/python3
"""What a perfect model of the normal signal would score on `mscred synth` data.

    /usr/bin/python3 bench/train_eval/ideal_floor.py SYNTH_DIR [--theta 0.005] [--beta 1.5]
        [--normaliser minmax|zscore]

SYNTH_DIR is the output of `mscred synth` (train.csv, test.csv, synth.txt, test_label.txt).
The "ideal model" reconstructs each step's signature matrices exactly as those of the
noise-free, anomaly-free series form((t - t0) / omega) (parameters from synth.txt), so its
residual is only what noise and anomalies add. Everything is recomputed here from the
definitions (min-max or z-score fitted on train.csv; M_w = (1/w) sum x_i x_j; residual
(M - M_ideal)^2; count = elements > theta; tau_s = beta * max over the validation steps of
rows 8000-10000 of train.csv; event-level rule of pipeline/evaluation.h with a tolerance of
max(scales) rows). This bounds what any MSCRED trained on these data can reach with this
scoring: noise the model cannot predict sets the validation maximum, hence tau.
numpy only.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import event_rule  # noqa: E402

SCALES = (10, 30, 60)
STEP = 10


def load(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def main(argv):
    opts = {"--theta": 0.005, "--beta": 1.5, "--normaliser": "minmax"}
    args = []
    i = 1
    while i < len(argv):
        if argv[i] in opts:
            opts[argv[i]] = type(opts[argv[i]])(argv[i + 1])
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if not args:
        sys.exit(__doc__)
    d = args[0]
    theta, beta = opts["--theta"], opts["--beta"]
    train, test = load(f"{d}/train.csv"), load(f"{d}/test.csv")
    labels = np.array([int(v) for v in open(f"{d}/test_label.txt")])
    meta = [line.split() for line in open(f"{d}/synth.txt")]
    series = [m for m in meta if m and m[0] == "series"]
    segs = [(int(m[3]), int(m[4])) for m in meta if m and m[0] == "anomaly"]
    valid_end = len(train)
    t = np.arange(valid_end + len(test))[:, None]
    t0 = np.array([float(s[3]) for s in series])
    om = np.array([float(s[4]) for s in series])
    cos = np.array([s[2] == "cos" for s in series])
    base = np.where(cos, np.cos((t - t0) / om), np.sin((t - t0) / om))
    if opts["--normaliser"] == "minmax":
        lo, hi = train.min(0), train.max(0)
        f = lambda z: (z - lo) / (hi - lo)  # noqa: E731
    else:
        mu, sd = train.mean(0), train.std(0)
        f = lambda z: (z - mu) / sd  # noqa: E731
    full = f(np.vstack([train, test]))
    ideal = f(base)

    def counts(rows):
        out = np.empty((len(rows), len(SCALES)), int)
        for k, r in enumerate(rows):
            for s, w in enumerate(SCALES):
                a, b = full[r - w + 1:r + 1], ideal[r - w + 1:r + 1]
                out[k, s] = ((a.T @ a / w - b.T @ b / w) ** 2 > theta).sum()
        return out

    val_rows = list(range(int(0.8 * valid_end) + max(SCALES) - 1 + 4 * STEP, valid_end, STEP))
    test_rows = list(range(valid_end + max(SCALES) - 1 + 4 * STEP, len(full), STEP))
    cv, ct = counts(val_rows), counts(test_rows)
    tau = beta * cv.max(axis=0)
    rel = np.array(test_rows) - valid_end
    print(f"{d}: theta {theta}, beta {beta}, {opts['--normaliser']}; validation steps "
          f"{len(val_rows)}, test steps {len(test_rows)}")
    for s, w in enumerate(SCALES):
        inside = np.array([labels[max(0, r - w + 1):r + 1].any() for r in rel])
        det = ct[:, s] > tau[s]
        ev = event_rule.events(rel, det, segs, max(SCALES))
        p, r, f1 = ev["precision"], ev["recall"], ev["f1"]
        found, true_events, events = ev["segments_detected"], ev["events_true"], ev["events"]
        print(f"  w={w:2d}: validation count mean {cv[:, s].mean():6.1f} max {cv[:, s].max():4d} "
              f"-> tau {tau[s]:6.1f} | test normal-step count mean {ct[~inside, s].mean():6.1f}"
              f" max {ct[~inside, s].max():4d}, anomalous-step mean {ct[inside, s].mean():6.1f}"
              f" max {ct[inside, s].max():4d} | event P {p:.2f} R {r:.2f} F1 {f1:.2f} "
              f"({found}/{len(segs)} segments, {true_events}/{events} events)")


if __name__ == "__main__":
    main(sys.argv)
