#!/usr/bin/env python3
"""bench/journal-cost.py DATA OUT [ROUNDS]: what the journal costs on the
20,000 x 4 KiB dataset: `ferry copy --no-fsync` against the same copy with
`--no-journal`, interleaved (order turning every round), fresh destinations,
nothing deleted until the end. Target: at most 5 % slower.

Prints the medians, their ratio, and the median of the per-round ratios (each
round runs both variants within seconds of each other, so a slow minute of
the shared disk moves both): the per-round figure is the one to judge by.
Wall time and CPU time (user + system, from the child's rusage) both.
"""
import os, shutil, statistics, subprocess, sys, time

DATA, OUT = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 9
FERRY = os.environ.get("FERRY", os.path.join(os.path.dirname(__file__), "..", "build", "ferry"))
env = dict(os.environ, XDG_STATE_HOME=os.path.join(OUT, "state"))
src = os.path.join(DATA, "small")
os.makedirs(OUT, exist_ok=True)
VARIANTS = ("journal", "no journal")
wall = {v: [] for v in VARIANTS}
cpu = {v: [] for v in VARIANTS}
n = 0
for r in range(ROUNDS):
    order = VARIANTS if r % 2 == 0 else tuple(reversed(VARIANTS))
    for v in order:
        n += 1
        subprocess.run(f"cat $(find '{src}' -type f) > /dev/null", shell=True, check=True)
        subprocess.run(["sync"])
        time.sleep(2)
        extra = ["--no-journal"] if v == "no journal" else []
        t0 = time.perf_counter()
        p = subprocess.Popen([FERRY, "copy", "-q", "--no-fsync", *extra, src,
                              os.path.join(OUT, f"d{n}")], env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall[v].append(time.perf_counter() - t0)
        cpu[v].append(ru.ru_utime + ru.ru_stime)
        if status != 0:
            sys.exit(f"ferry copy failed ({v}, round {r + 1}): status {status}")
    print(f"round {r + 1}: journal {wall['journal'][-1]:.3f} s, no journal "
          f"{wall['no journal'][-1]:.3f} s, ratio {wall['journal'][-1] / wall['no journal'][-1]:.3f}",
          file=sys.stderr, flush=True)
shutil.rmtree(OUT, ignore_errors=True)

def per_round(d):
    return statistics.median(a / b for a, b in zip(d["journal"], d["no journal"]))

mj, mn = statistics.median(wall["journal"]), statistics.median(wall["no journal"])
print(f"| 20,000 x 4 KiB, --no-fsync, {ROUNDS} rounds | median wall s | median CPU s |")
print("|---|---|---|")
print(f"| --no-journal | {mn:.3f} | {statistics.median(cpu['no journal']):.3f} |")
print(f"| with the journal | {mj:.3f} | {statistics.median(cpu['journal']):.3f} |")
print(f"| ratio of medians | **{mj / mn:.3f}x** | "
      f"{statistics.median(cpu['journal']) / statistics.median(cpu['no journal']):.3f}x |")
print(f"| median of per-round ratios | **{per_round(wall):.3f}x** | {per_round(cpu):.3f}x |")
print("per-round wall ratios: " + ", ".join(
    f"{a / b:.3f}" for a, b in zip(wall["journal"], wall["no journal"])))
