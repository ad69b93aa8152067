#!/usr/bin/env python3
"""Driver of bench/model_bench.sh: our MSCRED (bench/model_perf, C++) against the Python
baseline (../shared/bench/mscred_ref.py) on the same weights and inputs, interleaved in time
(A B A B: each round runs every variant once, in an order that alternates between rounds).

Weights: the baseline's model (seed 0) is dumped as raw float32 per state_dict key; ours loads
them by the same names. Inputs: uniform [0, 1) windows; the streaming rows feed `batch`
streams that each advance one step per call. Ratios are ours / baseline windows per second.
One thread setting per process (set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before start)."""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_ref(path):
    spec = importlib.util.spec_from_file_location("mscred_ref", path)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(path))
    spec.loader.exec_module(mod)
    return mod


class Ours:
    def __init__(self, exe, threads):
        self.p = subprocess.Popen([exe, str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        self.hello = self.read()

    def read(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("model_perf exited")
        r = json.loads(line)
        if "error" in r:
            raise RuntimeError("model_perf: " + r["error"])
        return r

    def cmd(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()
        return self.read()

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        self.p.wait(timeout=30)


def timed(fn, reps):
    ts = []
    for _ in range(reps):
        a = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - a)
    return ts


def pct(ts, q):
    s = sorted(ts)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def sgemm_gflops(reps=5, size=2048):
    a = torch.rand(size, size)
    b = torch.rand(size, size)
    torch.mm(a, b)
    ts = timed(lambda: torch.mm(a, b), reps)
    return 2.0 * size ** 3 / statistics.median(ts) / 1e9


def stream_macs(ref, n, k=3):
    """MACs of one streaming step: encoder and W_x of one step, W_h of steps 2..T, attention,
    decoder (the reference's macs() terms, re-weighted)."""
    m = ref.macs(n, k)
    hs = m["sizes"]
    x_part = sum(c * 4 * c * k * k * h * h for c, h in zip(ref.LEVEL_CH, hs))
    T = ref.T_STEPS
    return m["encoder"] / T + x_part + (T - 1) * x_part + m["attention"] + m["decoder"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", required=True)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--ns", default="30,38,70,134")
    ap.add_argument("--train-ns", default="30")
    ap.add_argument("--scaling-ns", default="38,134,262")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ref = load_ref(args.ref)
    q = args.quick
    rows = []
    info = {
        "threads": args.threads,
        "baseline_torch_threads": torch.get_num_threads(),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "baseline_blas": os.path.realpath("/lib/x86_64-linux-gnu/libblas.so.3"),
        "baseline_torch": torch.__version__,
        "loadavg_start": os.getloadavg(),
    }
    ours = Ours(args.exe, args.threads)
    info["ours"] = ours.hello
    info["sgemm_gflops_start"] = sgemm_gflops(3 if q else 5)
    print("# threads %d  OPENBLAS_NUM_THREADS=%s  baseline blas %s  ours %s (torch threads %d, mkldnn "
          "available %s, ours on oneDNN convolutions %s: the daemon's worker.onednn auto)"
          % (args.threads, info["OPENBLAS_NUM_THREADS"], info["baseline_blas"], ours.hello["blas"],
             ours.hello["torch_threads"], ours.hello["mkldnn"], ours.hello.get("onednn_default")),
          flush=True)
    print("# SGEMM 2048x2048 peak (torch.mm, %d threads): %.1f GFLOP/s" % (args.threads, info["sgemm_gflops_start"]),
          flush=True)

    tmp = tempfile.mkdtemp(prefix="mscred_bench_")

    def prepare(n, batch_max, stream_len):
        torch.manual_seed(0)
        model = ref.MSCREDRef(k_lstm=3).eval()
        for name, t in model.state_dict().items():
            t.detach().contiguous().numpy().astype("<f4").tofile(os.path.join(tmp, name + ".f32"))
        x = torch.rand(batch_max, ref.T_STEPS, 3, n, n)
        steps = torch.rand(batch_max, stream_len, 3, n, n)
        x.numpy().astype("<f4").tofile(os.path.join(tmp, "x.f32"))
        steps.numpy().astype("<f4").tofile(os.path.join(tmp, "steps.f32"))
        with open(os.path.join(tmp, "shape.txt"), "w") as f:
            f.write("%d %d %d\n" % (batch_max, stream_len, batch_max))
        r = ours.cmd("load %d 3 %s" % (n, tmp))
        mk = ref.MSCREDRef(k_lstm=3, backend="mkldnn").eval()
        mk.load_state_dict(model.state_dict())
        return model, mk, x, steps, r["bytes_per_stream"]

    def report(name, n, batch, ts, macs, kind, extra=None):
        med = statistics.median(ts)
        r = {"impl": name, "n": n, "batch": batch, "kind": kind, "reps": len(ts),
             "windows_per_s": batch / med, "p50_s": med, "p99_s": pct(ts, 0.99),
             "gflops": (6.0 if kind == "train" else 2.0) * macs * batch / med / 1e9,
             "threads": args.threads}
        if extra:
            r.update(extra)
        rows.append(r)
        print("  %-22s n=%-4d B=%-3d %-5s %8.2f win/s  p50 %8.1f ms  p99 %8.1f ms  %6.1f GFLOP/s  (%d reps)"
              % (name, n, batch, kind, r["windows_per_s"], 1e3 * med, 1e3 * r["p99_s"], r["gflops"], len(ts)),
              flush=True)
        return r

    def ratio_line(group):
        by = {r["impl"]: r["windows_per_s"] for r in group}
        base = by.get("baseline auto")
        best = max(by.get("baseline auto", 0), by.get("baseline mkldnn", 0))
        for impl in ("ours plain", "ours stream", "ours eval", "ours train", "ours train contig"):
            if impl in by and base:
                print("  ratio %-12s / baseline auto = %5.2fx   / best baseline = %5.2fx"
                      % (impl, by[impl] / base, by[impl] / best), flush=True)
                group[0].setdefault("ratios", {})[impl] = {"vs_auto": by[impl] / base, "vs_best": by[impl] / best}

    # ---- forward: plain, streaming, baseline auto and mkldnn, interleaved
    for n in [int(v) for v in args.ns.split(",") if v]:
        big = n >= 100
        plan = [(1, 1 if q else (2 if big else 4), 1 if q else (2 if big else 5)),
                (32, 1, 1 if q else (1 if big else (2 if n >= 60 else 3)))]
        if q:
            plan = [(1, 1, 2), (32, 1, 2)] if n <= 38 else [(1, 1, 1)]
        stream_calls = sum(r * k for (_, k, r) in plan) + 4 * len(plan)
        # `mscred eval`'s batches (consecutive windows of one stream) need 32 + 4 steps of
        # stream 0 per call; only where that memory is small.
        eval_len = 3 * 32 + ref.T_STEPS if n <= 70 else 0
        model, mk, x, steps, bps = prepare(n, 32, max(ref.T_STEPS + stream_calls + 2, eval_len))
        mw = ref.macs(n, 3)["total"]
        smw = stream_macs(ref, n)
        print("# n=%d: %.3f GMAC/window plain, %.3f streaming; stream cache %.2f MB/stream"
              % (n, mw / 1e9, smw / 1e9, bps / 2 ** 20), flush=True)
        for batch, reps, rounds in plan:
            xb = x[:batch].contiguous()
            ts = {k: [] for k in ("ours plain", "ours stream", "baseline auto", "baseline mkldnn")}
            with_eval = batch > 1 and eval_len > 0
            if with_eval:
                ts["ours eval"] = []
            heavy = big and batch > 1  # one call takes most of a minute: warm the cache only
            if not heavy:
                ours.cmd("fwd %d 1" % batch)
                with torch.no_grad():
                    model(xb)
                    mk(xb)
            ours.cmd("stream %d %d" % (batch, 1 if heavy else 2))  # the first window of each stream is a miss
            variants = [
                ("ours plain", lambda: ts["ours plain"].extend(ours.cmd("fwd %d %d" % (batch, reps))["times"])),
                ("ours stream", lambda: ts["ours stream"].extend(ours.cmd("stream %d %d" % (batch, reps))["times"])),
                ("baseline auto", lambda: ts["baseline auto"].extend(timed(lambda: model(xb), reps))),
                ("baseline mkldnn", lambda: ts["baseline mkldnn"].extend(timed(lambda: mk(xb), reps))),
            ]
            if with_eval:
                ours.cmd("eval %d 1" % batch)
                variants.append(("ours eval", lambda: ts["ours eval"].extend(
                    ours.cmd("eval %d %d" % (batch, reps))["times"])))
            with torch.no_grad():
                for rd in range(rounds):
                    order = variants if rd % 2 == 0 else variants[::-1]
                    for _, fn in order:
                        fn()
            # One more streaming call (checked against our plain forward by the server), its
            # output against the baseline's forward of the same windows (2 of them when heavy).
            last = ours.cmd("stream %d 1" % batch) if not heavy else {"max_diff_vs_plain": float("nan"),
                                                                       "hits": -1, "misses": -1}
            out_path = os.path.join(tmp, "out.f32")
            t_last = ours.cmd("out %s" % out_path)["start"]
            check = 2 if heavy else batch
            y_ours = torch.from_numpy(np.fromfile(out_path, dtype="<f4")).view(batch, 3, n, n)[:check]
            with torch.no_grad():
                y_ref = model(steps[:check, t_last:t_last + ref.T_STEPS].contiguous())
            diff = float((y_ours - y_ref).abs().max())
            if with_eval:
                ev = ours.cmd("eval %d 1" % batch)
                print("  ours eval (one stream, %d consecutive windows per call) vs our plain forward:"
                      " max |diff| = %.2e" % (batch, ev["max_diff_vs_plain"]), flush=True)
            group = []
            for name in ts:
                group.append(report(name, n, batch, ts[name], smw if name in ("ours stream", "ours eval") else mw, "fwd",
                                    {"stream_vs_baseline_maxabs": diff} if name == "ours stream" else None))
            print("  streaming output vs baseline forward of the same windows: max |diff| = %.2e (ours plain vs"
                  " stream %.2e, cache hits %d misses %d)" % (diff, last["max_diff_vs_plain"], last["hits"],
                                                             last["misses"]), flush=True)
            ratio_line(group)
        rows.append({"kind": "memory", "n": n, "bytes_per_stream": bps})

    # ---- training: ours against the baseline (auto and mkldnn), interleaved
    for n in [int(v) for v in args.train_ns.split(",") if v]:
        model, mk, x, steps, _ = prepare(n, 32, ref.T_STEPS + 32 + 8)
        mw = ref.macs(n, 3)["total"]
        for batch, reps, rounds in ([(1, 1, 2), (32, 1, 2)] if q else [(1, 3, 4), (32, 1, 3)]):
            xb = x[:batch].contiguous()
            opts = {m: torch.optim.Adam(m.parameters(), lr=2e-4) for m in (model, mk)}

            def step(m):
                loss = F.mse_loss(m(xb), xb[:, -1])
                opts[m].zero_grad()
                loss.backward()
                opts[m].step()

            model.train()
            mk.train()
            ts = {k: [] for k in ("ours train", "baseline auto", "baseline mkldnn")}
            ours.cmd("train %d 1" % batch)
            if batch > 1:
                ts["ours train contig"] = []
                ours.cmd("train_contig %d 1" % batch)
            step(model)
            step(mk)
            variants = [
                ("ours train", lambda: ts["ours train"].extend(ours.cmd("train %d %d" % (batch, reps))["times"])),
                ("baseline auto", lambda: ts["baseline auto"].extend(timed(lambda: step(model), reps))),
                ("baseline mkldnn", lambda: ts["baseline mkldnn"].extend(timed(lambda: step(mk), reps))),
            ]
            if batch > 1:
                # Consecutive windows, shared steps (`mscred train --batch-order contiguous`).
                variants.append(("ours train contig", lambda: ts["ours train contig"].extend(
                    ours.cmd("train_contig %d %d" % (batch, reps))["times"])))
            for rd in range(rounds):
                for _, fn in (variants if rd % 2 == 0 else variants[::-1]):
                    fn()
            group = [report(name, n, batch, ts[name], mw, "train") for name in ts]
            ratio_line(group)

    # ---- per-step cost and memory of ours alone (n = 262 is not 6 mod 8: no baseline)
    for n in [int(v) for v in args.scaling_ns.split(",") if v]:
        reps = 2 if q else (3 if n > 200 else 5)
        _, _, _, _, bps = prepare(n, 1, ref.T_STEPS + reps + 4)
        ours.cmd("stream 1 2")
        st = ours.cmd("stream 1 %d" % reps)["times"]
        pl = ours.cmd("fwd 1 %d" % max(1, reps // 2))["times"]
        rows.append({"kind": "scaling", "n": n, "stream_step_s": statistics.median(st),
                     "plain_window_s": statistics.median(pl), "bytes_per_stream": bps})
        print("# ours n=%d: streaming step %.1f ms (plain window %.1f ms), stream cache %.1f MB per stream"
              % (n, 1e3 * statistics.median(st), 1e3 * statistics.median(pl), bps / 2 ** 20), flush=True)

    info["sgemm_gflops_end"] = sgemm_gflops(3 if q else 5)
    info["loadavg_end"] = os.getloadavg()
    print("# SGEMM peak at end: %.1f GFLOP/s; load average %s" % (info["sgemm_gflops_end"], info["loadavg_end"]),
          flush=True)
    ours.close()
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"info": info, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
