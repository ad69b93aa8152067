#!/usr/bin/env python3
# Groups a flat perf profile of mscredd (self time per symbol, from
# `perf report --stdio --no-children --sort dso,sym`) into the daemon's stages and prints
# a Markdown table: stage, share of samples, top symbols. The rules are name patterns
# (first match wins); see bench/profile_e2e.sh.
import re, sys
from collections import defaultdict

# (stage, dso pattern or None, symbol pattern or None)
RULES = [
    ("signatures", None, r"mscred::pipeline::(SignatureState|EntityState|Normaliser|detail::gram)|"
                         r"mscred::daemon::.*EntityState|make_entity_state"),
    ("scoring", None, r"mscred::pipeline::(score_residual|detect|fit_thresholds|top_|Detection)|"
                      r"mscred::pipeline::.*([Ss]core|sensor_contribution|mirror|residual)|"
                      r"DetectorScorer"),
    ("publishing", None, r"boost::mp11.*beast"),
    ("ingest", None, r"mscred::connectors::(RecordParser|resolve_values|SensorIndex|TcpSource|"
                     r".*Session|parse_|dom_number|read_number|has_control|trim)|simdjson|"
                     r"^boost::asio|QueueIngest|BoundedQueue|Worker::handle|Worker::entity_for|"
                     r"check_timestamp"),
    ("ingest", r"libsimdjson", None),
    ("publishing", None, r"mscred::connectors::(Metrics|LogSink|KafkaSink|Alert|alert_)|"
                         r"prometheus::|spdlog|fmt::|nlohmann|Worker::score_batch|"
                         r"boost::beast|HealthServer"),
    ("publishing", r"libprometheus|libspdlog|libfmt|librdkafka", None),
    # oneDNN's JIT-generated kernels show as "[JIT] tid N"; Sleef is LibTorch's vector math.
    ("model", r"libtorch|libc10|libdnnl|libopenblas|libblas|libgomp|liblapack|libsleef|"
              r"^\[JIT\]", None),
    ("model", None, r"^(at|c10|torch|dnnl|caffe2)::|mscred::model::|sgemm|dgemm|gemm_|GOMP|gomp_|"
                    r"omp_|blas_|exec_blas|inner_thread"),
    ("kernel (syscalls, TCP, scheduling)", r"\[kernel", None),
    ("libc (malloc, memcpy, ...)", r"libc\.so|libstdc\+\+|libm\.so|ld-linux", None),
]


def classify(dso, sym):
    for stage, dso_re, sym_re in RULES:
        if dso_re and not re.search(dso_re, dso):
            continue
        if sym_re and not re.search(sym_re, sym):
            continue
        return stage
    return "other"


def main():
    shares = defaultdict(float)
    tops = defaultdict(list)  # (stage, symbol or library) -> self %
    line_re = re.compile(r"^\s*([0-9.]+)%\s+(.+?)\s+\[[.kgu]\]\s+(.*)$")
    for line in sys.stdin:
        m = line_re.match(line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
        stage = classify(dso, sym)
        shares[stage] += pct
        # Unresolved addresses (JIT code, stripped libraries) are reported per library.
        name = f"{dso} (unresolved)" if re.match(r"0x[0-9a-f]+$", sym) else sym[:70]
        tops[(stage, name)].append(pct)
    total = sum(shares.values())
    print("| stage | share of CPU samples | top symbols (self %) |")
    print("|---|---|---|")
    for stage, pct in sorted(shares.items(), key=lambda kv: -kv[1]):
        names = sorted(((sum(v), n) for (st, n), v in tops.items() if st == stage), reverse=True)
        top = ", ".join(f"`{n}` {100 * p / total:.2f}" for p, n in names[:3])
        print(f"| {stage} | {100 * pct / total:.2f} % | {top} |")


if __name__ == "__main__":
    main()
