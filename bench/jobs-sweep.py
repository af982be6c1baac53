#!/usr/bin/env python3
"""bench/jobs-sweep.py DATA OUT [ROUNDS]: `ferry copy -j N` for N in 1, 2, 4, 8 on
the sequence and the small-file datasets, durable and --no-fsync, interleaved
(order turning every round), fresh destinations, nothing deleted until the end.
The default of FERRY_DEFAULT_WORKERS is chosen from this table.
"""
import os, shutil, statistics, subprocess, sys, time

DATA, OUT = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
FERRY = os.environ.get("FERRY", os.path.join(os.path.dirname(__file__), "..", "build", "ferry"))
env = dict(os.environ, XDG_STATE_HOME=os.path.join(OUT, "state"))
os.makedirs(OUT, exist_ok=True)
NS = [1, 2, 4, 8]
rows = []
n = 0
for ds in ["seq", "small"]:
    src = os.path.join(DATA, ds)
    for mode in [["--no-fsync"], []]:
        t = {j: [] for j in NS}
        for r in range(ROUNDS):
            for j in NS[r % 4:] + NS[:r % 4]:
                n += 1
                subprocess.run(f"cat $(find '{src}' -type f) > /dev/null", shell=True, check=True)
                subprocess.run(["sync"])
                time.sleep(2)
                t0 = time.perf_counter()
                subprocess.run([FERRY, "copy", "-q", "-j", str(j), *mode, src, os.path.join(OUT, f"d{n}")],
                               check=True, env=env)
                t[j].append(time.perf_counter() - t0)
        base = statistics.median(t[4])
        rows.append((ds, "--no-fsync" if mode else "durable", {j: statistics.median(v) for j, v in t.items()}, base))
        print(f"{ds} {mode}: " + ", ".join(f"-j{j} {statistics.median(v):.2f}s" for j, v in t.items()), flush=True)
shutil.rmtree(OUT, ignore_errors=True)
print()
print("| dataset | mode | " + " | ".join(f"-j {j}" for j in NS) + " |")
print("|---|---|" + "---|" * len(NS))
for ds, mode, med, base in rows:
    print(f"| {ds} | {mode} | " + " | ".join(f"{med[j]:.2f} s ({med[j] / base:.2f}x)" for j in NS) + " |")
