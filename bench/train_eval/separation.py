#!/usr/bin/env python3
"""How well each scale's score separates anomalous from normal steps, from `mscred eval --out`.

    bench/train_eval/separation.py STEPS_CSV TEST_LABEL [INTERPRETATION_LABEL] [--tau a,b,c]

A step of scale w is "anomalous" when its newest signature window, rows (row - w, row], holds
a labelled row, and "normal" when it holds none. Per scale it prints the mean and max count
of both groups, and the share of anomalous steps whose count exceeds the largest normal count
(a test-set diagnostic, never a threshold: thresholds come from validation windows only).
With --tau (the checkpoint's thresholds, printed by `mscred train`) it also prints the share of
steps above tau in each group. With the interpretation file it counts how often each sensor
leads the top-3 list of detecting steps, and how often that sensor is a labelled cause.
Standard library only.
"""
import csv
import sys
from collections import Counter


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    taus = None
    for i, a in enumerate(argv):
        if a == "--tau":
            taus = [float(x) for x in argv[i + 1].split(",")]
            args.remove(argv[i + 1])
    if len(args) < 2:
        sys.exit(__doc__)
    steps_path, label_path = args[0], args[1]
    interp_path = args[2] if len(args) > 2 else None
    labels = [int(line.strip() or 0) for line in open(label_path)]
    prefix = [0]
    for v in labels:
        prefix.append(prefix[-1] + v)

    with open(steps_path) as f:
        rows = list(csv.DictReader(f))
    windows = [int(k[len("count_w"):]) for k in rows[0] if k.startswith("count_w")]
    print(f"{len(rows)} steps, scales {windows}")
    for s, w in enumerate(windows):
        normal, anomalous = [], []
        for r in rows:
            row = int(r["row"])
            lo = max(0, row - w + 1)
            inside = prefix[row + 1] - prefix[lo] > 0
            (anomalous if inside else normal).append(int(r[f"count_w{w}"]))
        if not normal or not anomalous:
            print(f"  w={w}: no {'normal' if not normal else 'anomalous'} steps")
            continue
        top = max(normal)
        above = sum(c > top for c in anomalous) / len(anomalous)
        line = (f"  w={w:3d}: normal mean {sum(normal) / len(normal):7.2f} max {top:4d} "
                f"({len(normal)} steps) | anomalous mean {sum(anomalous) / len(anomalous):7.2f} "
                f"max {max(anomalous):4d} ({len(anomalous)} steps), {above:.2f} above the "
                f"normal max")
        if taus is not None and s < len(taus):
            t = taus[s]
            line += (f" | > tau {t:g}: normal {sum(c > t for c in normal) / len(normal):.3f}, "
                     f"anomalous {sum(c > t for c in anomalous) / len(anomalous):.3f}")
        print(line)

    lead = Counter(r["top_sensors"].split(";")[0] for r in rows if r["top_sensors"])
    if lead:
        print("  top-1 sensor of detecting steps:",
              ", ".join(f"{k} {v}" for k, v in lead.most_common(6)))
    if interp_path:
        for line in open(interp_path):
            line = line.strip()
            if not line:
                continue
            span, causes = line.split(":")
            b, e = (int(x) for x in span.split("-"))
            names = {f"s{c}" for c in causes.split(",")}
            hit = [r for r in rows if r["top_sensors"] and b <= int(r["row"]) < e + max(windows)]
            got = Counter(x for r in hit for x in r["top_sensors"].split(";"))
            print(f"  segment {b}-{e} causes {sorted(names)}: {len(hit)} detecting steps, "
                  f"top-3 mentions {dict(got.most_common(4))}")


if __name__ == "__main__":
    main(sys.argv)
