#!/usr/bin/python3
"""Experiment, outside the product: MSCRED that PREDICTS the newest step instead of
reconstructing it, on `mscred synth` data, with the same budget and scoring as synth.sh.

    OMP_NUM_THREADS=1 /usr/bin/python3 bench/train_eval/forecast_ab.py SYNTH_DIR
        [--mode forecast|reconstruct] [--epochs 6] [--lr 1e-3] [--batch 8] [--kernel 2]
        [--seed 0] [--out result.json]

The network is shared/bench/mscred_ref.py's MSCREDRef (whose forward equals our C++ one).
reconstruct: input the h = 5 steps, target the newest (what `mscred train` does).
forecast: input the h-1 = 4 steps before the newest, target the newest, so the anomaly in the
newest step cannot be copied. Everything else is recomputed here from the definitions, as in
`mscred train` / `mscred eval`: min-max scaling fitted on train.csv, signature steps every 10
rows (scales 10, 30, 60), training windows whose newest row is before row 8000, validation
windows whose oldest row is at or after it, Adam, shuffled mini-batches, the best validation
epoch kept, theta 0.005, tau = 1.5 * max over validation windows per scale, the event rule of
pipeline/evaluation.h (tolerance 60 rows), and the copy ratio of residual_maps.py.
"""
import json
import os
import sys
import time

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import residual_maps  # noqa: E402  (also puts mscred_ref on the path)
import mscred_ref  # noqa: E402
import event_rule  # noqa: E402

SCALES, STEP, H, THETA, BETA = (10, 30, 60), 10, 5, 0.005, 1.5


def events(rows, det, segs):
    return event_rule.events(rows, det, segs, max(SCALES))


def main(argv):
    opts = {"--mode": "forecast", "--epochs": 6, "--lr": 1e-3, "--batch": 8, "--kernel": 2,
            "--seed": 0, "--out": ""}
    args, i = [], 1
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
    torch.set_num_threads(1)
    torch.manual_seed(opts["--seed"])
    rng = np.random.default_rng(opts["--seed"])
    forecast = opts["--mode"] == "forecast"

    train = np.loadtxt(f"{d}/train.csv", delimiter=",", skiprows=1)
    test = np.loadtxt(f"{d}/test.csv", delimiter=",", skiprows=1)
    lo, hi = train.min(0), train.max(0)
    xtr, xte = (train - lo) / (hi - lo), (test - lo) / (hi - lo)
    split = int(0.8 * len(train))
    reach = (H - 1) * STEP + max(SCALES) - 1
    rtr, str_ = residual_maps.signatures(xtr, SCALES, STEP)
    win_rows = rtr[H - 1:]
    idx = np.arange(H - 1, len(rtr))
    train_idx = idx[win_rows < split]
    val_idx = idx[win_rows - reach >= split]

    def batch(sig, ids):
        return torch.from_numpy(np.stack([sig[j - H + 1:j + 1] for j in ids]))

    def forward(model, w):
        return model(w[:, :H - 1]) if forecast else model(w)

    model = mscred_ref.MSCREDRef(in_ch=len(SCALES), k_lstm=opts["--kernel"])
    adam = torch.optim.Adam(model.parameters(), lr=opts["--lr"])
    best, best_state, curve = float("inf"), None, []
    t0 = time.time()
    for epoch in range(opts["--epochs"]):
        model.train()
        order = rng.permutation(train_idx)
        total = 0.0
        for b in range(0, len(order), opts["--batch"]):
            w = batch(str_, order[b:b + opts["--batch"]])
            adam.zero_grad()
            loss = torch.nn.functional.mse_loss(forward(model, w), w[:, -1])
            loss.backward()
            adam.step()
            total += loss.item() * len(w)
        model.eval()
        with torch.no_grad():
            val = sum(torch.nn.functional.mse_loss(forward(model, batch(str_, val_idx[b:b + 64])),
                                                   batch(str_, val_idx[b:b + 64])[:, -1]).item()
                      * len(val_idx[b:b + 64]) for b in range(0, len(val_idx), 64)) / len(val_idx)
        curve.append((total / len(train_idx), val))
        print(f"epoch {epoch + 1}: train {total / len(train_idx):.6f} val {val:.6f} "
              f"({time.time() - t0:.0f} s)", flush=True)
        if val < best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()

    def counts(sig, ids):
        out = []
        with torch.no_grad():
            for b in range(0, len(ids), 64):
                w = batch(sig, ids[b:b + 64])
                r = ((w[:, -1] - forward(model, w)) ** 2).numpy()
                out.append((r > THETA).sum(axis=(2, 3)))
        return np.concatenate(out)

    tau = BETA * counts(str_, val_idx).max(axis=0)
    rte, ste = residual_maps.signatures(xte, SCALES, STEP)
    test_idx = np.arange(H - 1, len(rte))
    ct = counts(ste, test_idx)
    rows = rte[H - 1:]
    labels = np.array([int(v) for v in open(f"{d}/test_label.txt")])
    segs = []
    for line in open(f"{d}/interpretation_label.txt"):
        b, e = (int(v) for v in line.split(":")[0].split("-"))
        segs.append((b, e))
    result = {"mode": opts["--mode"], "epochs": opts["--epochs"], "lr": opts["--lr"],
              "batch": opts["--batch"], "kernel": opts["--kernel"], "curve": curve,
              "best_val": best, "train_seconds": time.time() - t0, "tau": tau.tolist(),
              "train_windows": len(train_idx), "validation_windows": len(val_idx)}
    for s, w in enumerate(SCALES):
        inside = np.array([labels[max(0, r - w + 1):r + 1].any() for r in rows])
        ev = events(rows, ct[:, s] > tau[s], segs)
        result[f"w{w}"] = dict(ev, normal_mean=float(ct[~inside, s].mean()),
                               normal_max=int(ct[~inside, s].max()),
                               anomalous_mean=float(ct[inside, s].mean()),
                               anomalous_max=int(ct[inside, s].max()))
        print(f"w={w}: tau {tau[s]:g}; normal mean {ct[~inside, s].mean():.2f} max "
              f"{ct[~inside, s].max()}, anomalous mean {ct[inside, s].mean():.2f} max "
              f"{ct[inside, s].max()}; event P {ev['precision']:.2f} R {ev['recall']:.2f} "
              f"F1 {ev['f1']:.2f} ({ev['segments_detected']}/{len(segs)} segments, "
              f"{ev['events_true']}/{ev['events']} events)", flush=True)
    if opts["--out"]:
        with open(opts["--out"], "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main(sys.argv)
