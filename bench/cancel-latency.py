#!/usr/bin/env python3
"""bench/cancel-latency.py DATA OUT [RUNS]: time from SIGINT to the exit of
`ferry copy` of the 500 MiB file, sent at a random moment 0.2-1.5 s after the
start; after each run the destination must hold no file and no temp. Three
variants: --bwlimit 200M (durable), full speed durable, full speed --no-fsync.
FERRY_B=path: every other run with that binary instead, reported apart (an A/B
of two builds measured side by side).
VARIANTS: a comma list of variant numbers to run (0, 1, 2; default all).
"""
import os, random, signal, subprocess, sys, time

DATA, OUT = sys.argv[1], sys.argv[2]
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 100
RUNS_FULL_SPEED = int(os.environ.get("RUNS_FULL_SPEED", 30))  # the copy ends sooner: fewer land
FERRY = os.environ.get("FERRY", os.path.join(os.path.dirname(__file__), "..", "build", "ferry"))
env = dict(os.environ, XDG_STATE_HOME=os.path.join(OUT, "state"))
src = os.path.join(DATA, "big", "plate.bin")

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]

print("| variant | runs | cancelled | p50 ms | p90 ms | p99 ms | max ms |")
print("|---|---|---|---|---|---|---|")
n = 0
FERRY_B = os.environ.get("FERRY_B")
VARIANTS = [("--bwlimit 200M", ["--bwlimit", "200M"]), ("durable, full speed", []),
            ("--no-fsync, full speed", ["--no-fsync"])]
if os.environ.get("VARIANTS"):
    VARIANTS = [VARIANTS[int(v)] for v in os.environ["VARIANTS"].split(",")]
for vname, extra in VARIANTS:
    lats, counts = {}, {}
    for i in range(RUNS if extra[:1] == ["--bwlimit"] else RUNS_FULL_SPEED):
        n += 1
        b = FERRY_B and i % 2 == 1
        name = vname + (", B" if b else "")
        lat = lats.setdefault(name, [])
        counts.setdefault(name, [0, 0])[0] += 1
        dest = os.path.join(OUT, f"c{n}")
        os.makedirs(dest)
        p = subprocess.Popen([FERRY_B if b else FERRY, "copy", "-q", *extra, src, dest + "/"],
                             env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(random.uniform(0.2, 1.5 if extra and extra[0] == "--bwlimit" else 0.6))
        t0 = time.perf_counter()
        p.send_signal(signal.SIGINT)
        p.wait()
        dt = (time.perf_counter() - t0) * 1000
        left = os.listdir(dest)
        if p.returncode == 130:
            counts[name][1] += 1
            lat.append(dt)
            print(f"run {n} {name}: {dt:.2f} ms", file=sys.stderr, flush=True)
            assert not left, f"run {n}: the destination holds {left} after a cancel"
        else:
            assert p.returncode == 0 and left == ["plate.bin"], (p.returncode, left)
            os.unlink(os.path.join(dest, "plate.bin"))
        os.rmdir(dest)
    for name, lat in lats.items():
        if lat:
            print(f"| {name} | {counts[name][0]} | {counts[name][1]} | {pct(lat, 50):.1f} | "
                  f"{pct(lat, 90):.1f} | {pct(lat, 99):.1f} | {max(lat):.1f} |", flush=True)
