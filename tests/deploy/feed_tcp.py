#!/usr/bin/env python3
"""Feeds JSON records to mscredd's TCP source on 127.0.0.1:$MSCRED_INGEST_PORT.

Sends `--samples` records for each of `--entities` entities with the sensors of
tests/deploy/scrape_config.yaml's fake model (temp, rpm, current), all below the fake
model's level except one spike per entity, then closes the connection. Used by
deploy_prometheus_scrape as its feed command.
"""

import argparse
import json
import math
import os
import socket
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=2)
    parser.add_argument("--samples", type=int, default=40)
    opts = parser.parse_args()
    port = int(os.environ["MSCRED_INGEST_PORT"])

    lines = []
    for t in range(opts.samples):
        for e in range(opts.entities):
            spike = 10.0 if t == opts.samples // 2 else 0.0
            values = {"temp": math.sin(t / 5.0) + spike, "rpm": math.cos(t / 7.0), "current": 0.5}
            lines.append(json.dumps({"entity": f"pump-{e}", "ts": t, "values": values}))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(("\n".join(lines) + "\n").encode())
        conn.shutdown(socket.SHUT_WR)
        # reply_errors: the daemon writes "error line N: ..." back for rejected lines.
        replies = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            replies += chunk
    print(f"sent {len(lines)} records to 127.0.0.1:{port}")
    if replies:
        print("daemon replied:", replies.decode(errors="replace")[:2000])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
