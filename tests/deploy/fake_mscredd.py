#!/usr/bin/env python3
"""A stand-in for mscredd that only serves static files, to test prometheus_scrape_test.sh
itself (the harness) while the real daemon does not exist yet.

`fake_mscredd.py --config FILE` reads metrics.listen and health.listen from FILE and
serves, with Python's http.server, a static `metrics` file (a few mscred_ series in the
text exposition format) and static `healthz` / `readyz` files. It is not mscredd: the
registered acceptance test (deploy_prometheus_scrape) targets the real binary.
"""

import argparse
import functools
import http.server
import os
import signal
import tempfile
import threading

import yaml

METRICS = """\
# HELP mscred_build_info Build of the running daemon.
# TYPE mscred_build_info gauge
mscred_build_info{version="0.1.0"} 1
# HELP mscred_score Anomaly score of the latest step per entity and scale.
# TYPE mscred_score gauge
mscred_score{entity="machine-1-1",scale="10"} 3
mscred_score{entity="machine-1-1",scale="30"} 5
# HELP mscred_threshold Fitted threshold per entity and scale.
# TYPE mscred_threshold gauge
mscred_threshold{entity="machine-1-1",scale="10"} 12
"""


def listen(config, section):
    host, port = config[section]["listen"].rsplit(":", 1)
    return host.strip("[]"), int(port)


def serve(directory, address):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(address, handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    opts = parser.parse_args()
    with open(opts.config) as f:
        config = yaml.safe_load(f)

    with tempfile.TemporaryDirectory() as root:
        metrics_dir = os.path.join(root, "metrics_root")
        health_dir = os.path.join(root, "health_root")
        os.makedirs(metrics_dir)
        os.makedirs(health_dir)
        with open(os.path.join(metrics_dir, "metrics"), "w") as f:
            f.write(METRICS)
        for name in ("healthz", "readyz"):
            with open(os.path.join(health_dir, name), "w") as f:
                f.write('{"status":"ok"}\n')
        servers = [serve(metrics_dir, listen(config, "metrics")),
                   serve(health_dir, listen(config, "health"))]

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
        for server in servers:
            server.shutdown()


if __name__ == "__main__":
    main()
