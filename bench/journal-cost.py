#!/usr/bin/env python3
"""bench/journal-cost.py DATA OUT [ROUNDS]: what the journal costs on the
20,000 x 4 KiB dataset: `ferry copy --no-fsync` against the same copy with
`--no-journal`, interleaved (order turning every round), fresh destinations,
nothing deleted until the end. Target: at most 5 % slower.
"""
import os, shutil, statistics, subprocess, sys, time

DATA, OUT = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 7
FERRY = os.environ.get("FERRY", os.path.join(os.path.dirname(__file__), "..", "build", "ferry"))
env = dict(os.environ, XDG_STATE_HOME=os.path.join(OUT, "state"))
src = os.path.join(DATA, "small")
os.makedirs(OUT, exist_ok=True)
variants = {"journal": [], "no journal": []}
n = 0
for r in range(ROUNDS):
    order = list(variants) if r % 2 == 0 else list(reversed(variants))
    for v in order:
        n += 1
        subprocess.run(f"cat $(find '{src}' -type f) > /dev/null", shell=True, check=True)
        subprocess.run(["sync"])
        time.sleep(2)
        extra = ["--no-journal"] if v == "no journal" else []
        t0 = time.perf_counter()
        subprocess.run([FERRY, "copy", "-q", "--no-fsync", *extra, src, os.path.join(OUT, f"d{n}")],
                       check=True, env=env)
        variants[v].append(time.perf_counter() - t0)
shutil.rmtree(OUT, ignore_errors=True)
a, b = statistics.median(variants["journal"]), statistics.median(variants["no journal"])
print("| 20,000 x 4 KiB, --no-fsync | median s | ratio |")
print("|---|---|---|")
print(f"| --no-journal | {b:.2f} | 1.00x |")
print(f"| with the journal | {a:.2f} | **{a / b:.2f}x** |")
