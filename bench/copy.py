#!/usr/bin/env python3
"""bench/copy.py DATA OUT [ROUNDS]: ferry copy against cp -r, cp -r && sync, rsync -a.

Every run copies into a fresh destination directory, and nothing is deleted
until the whole series is over: on ext4, creating files right after deleting
many is slow for minutes, which would punish whichever tool runs next. Before
each run: the source is read again (a warm page cache for the source) and
the system synced and left to settle for two seconds (a quiet destination).
Tools run interleaved, in an order that turns every round, ROUNDS times each;
the table gives medians, the ratio of the medians to the peer measured in the
same run, and the median of the per-round ratios (each round runs both tools
within seconds of each other: the steadier figure on a noisy disk).
Knobs (environment): DATASETS (default big,seq,small), TOOLS (a comma list of
the names below, default all; a pair is reported when both ran), FERRY_JOBS.
"""
import os, shutil, statistics, subprocess, sys, time

DATA, OUT = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
FERRY = os.environ.get("FERRY", os.path.join(os.path.dirname(__file__), "..", "build", "ferry"))
JOBS = os.environ.get("FERRY_JOBS")
env = dict(os.environ, XDG_STATE_HOME=os.path.join(OUT, "state"))

def ferry(*extra):
    j = ["-j", JOBS] if JOBS else []
    return lambda s, d: [[FERRY, "copy", "-q", *j, *extra, s, d]]

TOOLS = {
    "ferry --no-fsync": ferry("--no-fsync"),
    "cp -r": lambda s, d: [["cp", "-r", s, d]],
    "ferry (durable)": ferry(),
    "cp -r && sync": lambda s, d: [["cp", "-r", s, d], ["sync"]],
    "rsync -a": lambda s, d: [["rsync", "-a", s + "/", d + "/"]],
}
if os.environ.get("TOOLS"):
    TOOLS = {t: TOOLS[t] for t in os.environ["TOOLS"].split(",")}
PAIRS = [(a, b) for a, b in [("ferry --no-fsync", "cp -r"), ("ferry (durable)", "cp -r && sync")]
         if a in TOOLS and b in TOOLS]
DATASETS = os.environ.get("DATASETS", "big,seq,small").split(",")

def run(cmds):
    t0 = time.perf_counter()
    for c in cmds:
        subprocess.run(c, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0

def warm(path):
    subprocess.run(f"cat $(find '{path}' -type f) > /dev/null", shell=True, check=True)

def settle():
    subprocess.run(["sync"])
    time.sleep(2)

os.makedirs(OUT, exist_ok=True)
n = 0
results, per_round = {}, {}
for ds in DATASETS:
    src = os.path.join(DATA, ds)
    times = {t: [] for t in TOOLS}
    names = list(TOOLS)
    for r in range(ROUNDS):
        # The order turns every round: whatever runs first after a clean-up
        # pays for the filesystem's deferred work; no tool always does.
        for name in names[r % len(names):] + names[:r % len(names)]:
            mk = TOOLS[name]
            n += 1
            dest = os.path.join(OUT, f"d{n}")
            warm(src)
            settle()
            times[name].append(run(mk(src, dest)))
    results[ds] = {t: statistics.median(v) for t, v in times.items()}
    per_round[ds] = [statistics.median(x / y for x, y in zip(times[a], times[b])) for a, b in PAIRS]
    print(f"{ds}: " + ", ".join(f"{t} {statistics.median(v):.2f}s" for t, v in times.items()), flush=True)

shutil.rmtree(OUT, ignore_errors=True)
print()
print("| dataset | " + " | ".join(TOOLS) + " | " + " | ".join(f"{a} / {b}" for a, b in PAIRS) +
      " | " + " | ".join(f"{a} / {b}, per round" for a, b in PAIRS) + " |")
print("|---" * (1 + len(TOOLS) + 2 * len(PAIRS)) + "|")
for ds, r in results.items():
    cells = ([f"{r[t]:.2f} s" for t in TOOLS] + [f"**{r[a] / r[b]:.2f}x**" for a, b in PAIRS] +
             [f"{x:.2f}x" for x in per_round[ds]])
    print(f"| {ds} | " + " | ".join(cells) + " |")
