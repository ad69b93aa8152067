"""The event-level rule of pipeline/evaluation.h, recomputed in Python for the experiment
scripts (forecast_ab.py, ideal_floor.py): a run of consecutive detecting steps is one event;
it is true when one of its steps' rows lies in [begin, end + tolerance) of a labelled
segment, and a segment is found when any detecting step hits it."""


def events(rows, det, segs, tolerance):
    """rows[k]: step k's newest row; det[k]: step k detects; segs: [(begin, end)] rows."""
    n_events = n_true = 0
    hit = set()
    k = 0
    while k < len(det):
        if not det[k]:
            k += 1
            continue
        n_events += 1
        ok = False
        while k < len(det) and det[k]:
            for g, (b, e) in enumerate(segs):
                if b <= rows[k] < e + tolerance:
                    hit.add(g)
                    ok = True
            k += 1
        n_true += ok
    p = n_true / n_events if n_events else 0.0
    r = len(hit) / len(segs) if segs else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "events": n_events, "events_true": n_true, "segments_detected": len(hit)}
