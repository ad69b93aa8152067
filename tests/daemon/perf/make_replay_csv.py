# Writes a replay CSV (header ts,s0..s37; 100k rows) with a shock on s0-s2 every 1000 rows,
# so `mscred replay` must report exactly 100 alerts.
import sys
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
with open(sys.argv[1], "w") as f:
    f.write("ts," + ",".join(f"s{s}" for s in range(38)) + "\n")
    for i in range(n):
        row = (((i * 37 + s * 11) % 1000) / 997.0 + (9 if (i % 1000 == 500 and s < 3) else 0)
               for s in range(38))
        f.write(str(i) + "," + ",".join("%.4f" % v for v in row) + "\n")
