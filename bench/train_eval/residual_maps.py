#!/usr/bin/python3
"""Where a trained checkpoint's residuals fall: border vs interior, causes vs the rest.

    /usr/bin/python3 bench/train_eval/residual_maps.py MODEL.ckpt DATA.csv [TEST_LABEL
        [INTERPRETATION_LABEL]] [--max-rows N] [--steps STEPS_CSV] [--synth SYNTH_DIR]

--steps compares the recomputed per-scale counts with those `mscred eval --out` wrote for the
same model and data (an end-to-end check of normaliser, signatures, network and scoring).
--synth prints the copy ratio (see copy_ratio below).

Needs python3-torch (Debian) and shared/bench/mscred_ref.py, whose MSCREDRef takes our
checkpoint's tensors unchanged (the C++ forward equals it within 1e-4, tests/model). The
checkpoint is parsed here from its documented layout (model/include/mscred/model/checkpoint.h);
signature matrices are recomputed from their definition M_w[i][j](t) = (1/w) sum x_i x_j over
the last w normalised samples, steps every `step` rows once max(scales) rows are in.

Prints, per scale: the mean residual of the border elements (row or column 0 or n-1) over the
mean of the interior ones, on steps whose windows hold no labelled row; the sensors that lead
the count ranking most often on those normal steps; and for each labelled segment, the mean
count inside vs the mean count of normal steps, and the rank of each cause by count and by
"excess" (count of elements above theta whose residual also exceeds that element's largest
residual over the normal steps before the segment).
"""
import json
import os
import struct
import sys

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
for cand in (os.path.join(here, "../../../shared/bench"), "/work/shared/bench"):
    if os.path.exists(os.path.join(cand, "mscred_ref.py")):
        sys.path.insert(0, os.path.abspath(cand))
        break
import mscred_ref  # noqa: E402


def read_checkpoint(path):
    b = open(path, "rb").read()
    assert b[:8] == b"MSCREDCK", "not a checkpoint"
    off = 8
    (version,) = struct.unpack_from("<I", b, off)
    off += 4
    (mlen,) = struct.unpack_from("<Q", b, off)
    off += 8
    meta = json.loads(b[off:off + mlen].decode())
    off += mlen
    (count,) = struct.unpack_from("<I", b, off)
    off += 4
    tensors = {}
    for _ in range(count):
        (nl,) = struct.unpack_from("<I", b, off)
        off += 4
        name = b[off:off + nl].decode()
        off += nl
        (rank,) = struct.unpack_from("<I", b, off)
        off += 4
        dims = struct.unpack_from("<%dq" % rank, b, off)
        off += 8 * rank
        size = int(np.prod(dims)) if rank else 1
        tensors[name] = torch.from_numpy(
            np.frombuffer(b, dtype="<f4", count=size, offset=off).reshape(dims).copy())
        off += 4 * size
    return version, meta, tensors


def read_data(path, max_rows):
    with open(path) as f:
        first = f.readline()
    header = any(c.isalpha() for c in first.replace("e-", "").replace("e+", ""))
    x = np.loadtxt(path, delimiter=",", skiprows=1 if header else 0, ndmin=2)
    return x[:max_rows] if max_rows else x


def signatures(x, scales, step):
    """Signature matrices of normalised samples x [rows, n]: steps every `step` rows once
    max(scales) rows are in. Returns (newest row of each step, sig [steps, scales, n, n])."""
    wmax = max(scales)
    rows = list(range(wmax - 1, len(x), step))
    sig = np.empty((len(rows), len(scales), x.shape[1], x.shape[1]), dtype=np.float32)
    for k, r in enumerate(rows):
        for s, w in enumerate(scales):
            seg = x[r - w + 1:r + 1]
            sig[k, s] = seg.T @ seg / w
    return np.array(rows), sig


def main(argv):
    max_rows = 0
    synth_dir = None
    steps_csv = None
    if "--steps" in argv:
        i = argv.index("--steps")
        steps_csv = argv[i + 1]
        del argv[i:i + 2]
    if "--synth" in argv:
        i = argv.index("--synth")
        synth_dir = argv[i + 1]
        del argv[i:i + 2]
    if "--max-rows" in argv:
        i = argv.index("--max-rows")
        max_rows = int(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) < 3:
        sys.exit(__doc__)
    _, meta, tensors = read_checkpoint(argv[1])
    raw = read_data(argv[2], max_rows)
    labels = None
    if len(argv) > 3:
        labels = np.array([int(v.strip() or 0) for v in open(argv[3])])[:len(raw)]
    segments = []
    if len(argv) > 4:
        for line in open(argv[4]):
            if line.strip():
                span, causes = line.strip().split(":")
                b, e = (int(v) for v in span.split("-"))
                if b < len(raw):
                    segments.append((b, e, [int(c) - 1 for c in causes.split(",")]))

    norm = meta["normaliser"]
    x = (raw - np.array(norm["offset"])) / np.array(norm["scale"])
    scales = meta["signature"]["scales"]
    step, hist = meta["signature"]["step"], meta["signature"]["history"]
    theta = meta["score"]["theta"]
    n = x.shape[1]
    wmax = max(scales)
    rows, sig = signatures(x, scales, step)
    rows = rows.tolist()
    reference = mscred_ref.MSCREDRef(in_ch=len(scales), k_lstm=meta["net"]["lstm_kernel"])
    reference.load_state_dict(tensors)
    reference.eval()
    # A forecast checkpoint (net.objective, absent = reconstruct) reads steps 0..h-2 of a
    # window; its output is compared with step h-1 either way. The reference's chi is the
    # number of steps it reads, as ours with chi = 0.
    forecast = meta["net"].get("objective", "reconstruct") == "forecast"

    def model(win):
        return reference(win[:, :-1] if forecast else win)

    newest = np.array(rows[hist - 1:])
    res = []
    with torch.no_grad():
        for b in range(hist - 1, len(rows), 64):
            idx = range(b, min(len(rows), b + 64))
            win = torch.from_numpy(np.stack([sig[i - hist + 1:i + 1] for i in idx]))
            out = model(win)
            res.append(((win[:, -1] - out) ** 2).numpy())
    res = np.concatenate(res)  # [steps, scales, n, n]
    print(f"{len(newest)} steps, n = {n}, scales {scales}, theta {theta}, "
          f"objective {'forecast' if forecast else 'reconstruct'}")
    if steps_csv:
        import csv
        ours = (res > theta).sum(axis=(2, 3))
        theirs = np.array([[int(r[f"count_w{w}"]) for w in scales]
                           for r in csv.DictReader(open(steps_csv))])
        same = int((ours == theirs).all(axis=1).sum()) if ours.shape == theirs.shape else -1
        print(f"  recomputed counts vs {steps_csv}: {same} of {len(theirs)} steps identical, "
              f"max difference {int(np.abs(ours - theirs).max()) if same >= 0 else 'n/a'}")
    if synth_dir:
        copy_ratio(synth_dir, model, x, raw, norm, scales, rows, hist, newest, res, sig)

    def window_has_label(row, w):
        return labels is not None and labels[max(0, row - w + 1):row + 1].any()

    border = np.zeros((n, n), bool)
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
    for s, w in enumerate(scales):
        normal = np.array([not window_has_label(r, w) for r in newest])
        rn = res[normal, s]
        ratio = rn[:, border].mean() / rn[:, ~border].mean()
        counts = (rn > theta)
        per_sensor = counts.sum(axis=2) + counts.sum(axis=1) - counts[:, range(n), range(n)]
        lead = np.bincount(per_sensor.argmax(axis=1), minlength=n)
        top = np.argsort(-lead)[:4]
        print(f"  w={w}: normal steps {normal.sum()}, mean residual border/interior {ratio:.2f}, "
              f"mean count {counts.sum(axis=(1, 2)).mean():.1f}; sensors leading the count "
              f"ranking on normal steps: " + ", ".join(f"s{t + 1} {lead[t]}" for t in top))
    for (b, e, causes) in segments:
        inside = (newest >= b) & (newest < e + wmax - 1)
        if not inside.any():
            continue
        before = (newest < b - wmax) & (newest >= b - wmax - 1000)
        if labels is not None:
            before &= np.array([not window_has_label(r, wmax) for r in newest])
        for s, w in enumerate(scales):
            ri, rb = res[inside, s], res[before, s]
            ci, cb = (ri > theta).sum(axis=(1, 2)), (rb > theta).sum(axis=(1, 2))
            cnt = (ri > theta).sum(axis=0)
            score = cnt.sum(axis=1) + cnt.sum(axis=0) - np.diag(cnt)
            limit = rb.max(axis=0) if len(rb) else np.zeros((n, n))
            exc = ((ri > theta) & (ri > limit)).sum(axis=0)
            escore = exc.sum(axis=1) + exc.sum(axis=0) - np.diag(exc)
            rank = {c: int((score > score[c]).sum()) + 1 for c in causes}
            erank = {c: int((escore > escore[c]).sum()) + 1 for c in causes}
            print(f"  segment {b}-{e} w={w}: count inside mean {ci.mean():.1f} max {ci.max()}, "
                  f"normal before mean {cb.mean() if len(cb) else float('nan'):.1f} max "
                  f"{cb.max() if len(cb) else -1}; cause rank by count "
                  + " ".join(f"s{c + 1}:{rank[c]}" for c in causes) + ", by excess "
                  + " ".join(f"s{c + 1}:{erank[c]}" for c in causes))


def copy_ratio(synth_dir, model, x, raw, norm, scales, rows, hist, newest, res, sig):
    """How much of an anomaly's effect the model reproduces (data = test.csv of `mscred synth`).

    The clean counterpart of the test data is rebuilt from synth.txt: on each anomaly's cause
    series the shock (+1, -1, ...) is replaced by the series' deterministic part, its noise
    kept (value - shock). D = M(anomalous) - M(clean) is the anomaly's effect on the newest
    signature, E = Xhat - M(clean) the model's departure from the clean matrix; the ratio
    <E, D> / <D, D> is 1 when the model reproduces the anomaly (copies its input) and 0 when
    it reconstructs the clean matrix.
    """
    meta = [line.split() for line in open(os.path.join(synth_dir, "synth.txt"))]
    series = [m for m in meta if m and m[0] == "series"]
    valid_end = int(next(m[0].split("=")[1] for m in meta if m and m[0].startswith("valid_end=")))
    clean = raw.copy()
    for m in meta:
        if not m or m[0] != "anomaly":
            continue
        b, e = int(m[3]), int(m[4])
        for name in m[5].split(","):
            i = int(name[1:]) - 1
            t0, om, cos = float(series[i][3]), float(series[i][4]), series[i][2] == "cos"
            for r in range(b, min(e, len(raw))):
                shock = 1.0 if (r - b) % 2 == 0 else -1.0
                arg = (valid_end + r - t0) / om
                clean[r, i] = raw[r, i] - shock + (np.cos(arg) if cos else np.sin(arg))
    xc = (clean - np.array(norm["offset"])) / np.array(norm["scale"])
    changed = np.abs(xc - x).sum(axis=1) > 0
    with torch.no_grad():
        for s, w in enumerate(scales):
            num = den = 0.0
            steps = 0
            for k, r in enumerate(newest):
                if not changed[max(0, r - w + 1):r + 1].any():
                    continue
                a, c = x[r - w + 1:r + 1], xc[r - w + 1:r + 1]
                d = a.T @ a / w - c.T @ c / w
                j = k + hist - 1
                win = torch.from_numpy(sig[j - hist + 1:j + 1][None])
                xhat = model(win)[0, s].numpy()
                e = xhat - c.T @ c / w
                num += float((e * d).sum())
                den += float((d * d).sum())
                steps += 1
            print(f"  w={w}: copy ratio <Xhat - M_clean, M_anom - M_clean> / |M_anom - M_clean|^2 "
                  f"= {num / den:.2f} over {steps} anomalous steps")


if __name__ == "__main__":
    main(sys.argv)
