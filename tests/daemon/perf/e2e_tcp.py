# Sends N JSON records (28 entities x 38 sensors, object form) to mscredd over TCP and
# times until every expected step is scored (polled from /metrics).
import json, socket, sys, time, urllib.request
N = int(sys.argv[1]); E = 28
lines = []
for i in range(N):
    e = i % E; t = i // E
    vals = {f"s{s}": ((i * 37 + s * 11) % 1000) / 997.0 for s in range(38)}
    lines.append(json.dumps({"entity": f"machine-{e}", "ts": t, "values": vals}))
blob = ("\n".join(lines) + "\n").encode()
per = N // E
steps = E * ((per - 100) // 10 + 1)  # window 60 + 4*10 = 100 samples, step 10
def scored():
    for l in urllib.request.urlopen("http://127.0.0.1:19465/metrics").read().decode().splitlines():
        if l.startswith("mscred_steps_scored_total"): return float(l.split()[-1])
    return 0
t0 = time.time()
s = socket.create_connection(("127.0.0.1", 17979)); s.sendall(blob); s.close()
t_sent = time.time()
while scored() < steps: time.sleep(0.02)
dt = time.time() - t0
print(f"{N} records ({len(blob)/1e6:.1f} MB), {steps} steps: sent in {t_sent-t0:.2f} s, all scored after {dt:.2f} s -> {N/dt:.0f} records/s, {len(blob)/dt/1e6:.1f} MB/s")
