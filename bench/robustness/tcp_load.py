#!/usr/bin/env python3
"""Connection load on a real mscredd (fake scorer): N concurrent TCP connections, of which
S trickle a record a byte per second and V disconnect mid-line, the rest idle, while one
fast client sends M records. Reports how long the fast client's records took to be
ingested, the daemon's resident memory before and after opening the connections, and the
rejection counts (max_connections for the ones beyond the limit, truncated for the
vanished ones). The CI-sized version of this is TcpLimitsTest.ThousandConnections... in
tests/robustness/tcp_limits_test.cc (in-process); this one runs the full daemon.

usage: tcp_load.py --mscredd BIN [--connections 1000] [--slow 200] [--vanish 50]
                   [--fast 20000] [--slow-seconds 20] [--max-connections 1000] [--extra 10]
"""
import argparse
import os
import resource
import socket
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soak import ReadyTimeout, free_port, metric, rss_kib, running_daemon  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mscredd", required=True)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--vanish", type=int, default=50)
    ap.add_argument("--fast", type=int, default=20000)
    ap.add_argument("--slow-seconds", type=float, default=20)
    ap.add_argument("--max-connections", type=int, default=1000)
    ap.add_argument("--extra", type=int, default=10, help="connections beyond the limit")
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 2 * a.connections + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # inherited by mscredd

    tcp_port, metrics_port, health_port = free_port(), free_port(), free_port()
    config = f"""sources:
  - type: tcp
    listen: 127.0.0.1:{tcp_port}
    max_connections: {a.max_connections}
    line_timeout_s: {a.slow_seconds * 3}
    reply_errors: false
models:
  - name: fake
    fake: {{sensors: [a, b, c], level: 100}}
entities: {{unknown: default, default_model: fake}}
logging: {{level: error}}
metrics: {{listen: 127.0.0.1:{metrics_port}}}
health: {{listen: 127.0.0.1:{health_port}}}
"""
    url = f"http://127.0.0.1:{metrics_port}/metrics"

    def scrape():
        return urllib.request.urlopen(url, timeout=10).read().decode()

    try:
        with running_daemon(a.mscredd, config, "mscred_load_", health_port) as daemon:
            rss0 = rss_kib(daemon.pid)
            fast = socket.create_connection(("127.0.0.1", tcp_port))
            slow = [socket.create_connection(("127.0.0.1", tcp_port)) for _ in range(a.slow)]
            for _ in range(a.vanish):
                s = socket.create_connection(("127.0.0.1", tcp_port))
                s.sendall(b'{"entity":"gone","ts":1,"values":[1,')
                s.close()
            idle = []
            for _ in range(a.connections - a.slow - 1):
                idle.append(socket.create_connection(("127.0.0.1", tcp_port)))
            time.sleep(1)
            rss1 = rss_kib(daemon.pid)
            # Beyond the limit: each is accepted by the kernel and closed by the daemon.
            refused = 0
            for _ in range(a.extra):
                s = socket.create_connection(("127.0.0.1", tcp_port))
                s.settimeout(5)
                try:
                    refused += 1 if s.recv(1) == b"" else 0
                except OSError:
                    refused += 1
                s.close()

            line = lambda i: f"s{i},1,{(i % 7) / 7:.6f},0.5,0.25\n".encode()  # noqa: E731
            width = max(len(line(i)) for i in range(a.slow))
            stop = threading.Event()

            def trickle():
                for b in range(width):
                    for i, s in enumerate(slow):
                        piece = line(i)[b:b + 1]
                        if piece:
                            try:
                                s.sendall(piece)
                            except OSError:
                                pass
                    if stop.wait(a.slow_seconds / width):
                        return

            t = threading.Thread(target=trickle)
            t.start()
            blob = "".join(f"fast,{i},0.1,0.2,0.3\n" for i in range(1, a.fast + 1)).encode()
            t0 = time.time()
            fast.sendall(blob)
            ingested = 0
            while time.time() - t0 < 120:
                ingested = metric(scrape(), "mscred_samples_ingested_total") or 0
                if ingested >= a.fast:
                    break
                time.sleep(0.05)
            fast_s = time.time() - t0
            t.join()
            time.sleep(1)
            text = scrape()
            rss2 = rss_kib(daemon.pid)
            total = metric(text, "mscred_samples_ingested_total") or 0
            rejected = {}
            for l in text.splitlines():
                if l.startswith("mscred_records_rejected_total{"):
                    reason = l.split('reason="')[1].split('"')[0]
                    rejected[reason] = rejected.get(reason, 0) + float(l.split()[-1])
            print(f"connections: {a.connections} open ({a.slow} slow over {a.slow_seconds:.0f} s, "
                  f"{a.vanish} vanished mid-line), max_connections {a.max_connections}")
            print(f"fast client: {a.fast} records ingested in {fast_s:.2f} s "
                  f"({a.fast / fast_s:.0f} records/s) while the slow ones trickled")
            print(f"ingested in total: {total:.0f} (fast {a.fast} + slow {a.slow} expected)")
            print(f"rejected: {rejected}; {refused} of {a.extra} connections beyond the limit "
                  f"were closed by the daemon")
            print(f"mscredd RSS: {rss0} KiB idle, {rss1} KiB with the connections open, "
                  f"{rss2} KiB at the end ({(rss1 - rss0) / max(a.connections, 1):.1f} KiB per "
                  f"connection)")
            for s in slow + idle + [fast]:
                s.close()
            return 0
    except ReadyTimeout as e:
        print(e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
