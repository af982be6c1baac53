#!/usr/bin/env bash
# bench/ls.sh [DIR [ROUNDS]]: `ferry ls` of one directory of 100,000 frames against
# `ls -l` of it (target: ferry ls <= 1.00x ls -l), and `ferry ls --json`.
#
# The directory, DIR/ls100k (DIR: default $FERRY_BENCH_DIR or
# /var/tmp/ferry-bench), is made once and kept (bench/seq-memory.sh uses it
# too): sh010_comp_v003.NNNNNN.exr for frames 1-100,100 less 100 dropped at
# random (a render with failed frames: 100,000 files, 100 gaps), 512 bytes
# each. Warm cache: every command runs once before the timing, and
# nothing writes to the directory. Each round runs the three commands in an
# order that turns, output to /dev/null; ROUNDS (default 9) rounds, medians,
# and the median of the per-round ratios. Then the peak RSS of each command
# (/usr/bin/time -v, median of 3). The binary ($FERRY, default build/ferry)
# is copied first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BASE=$(realpath -m "${1:-${FERRY_BENCH_DIR:-/var/tmp/ferry-bench}}")
ROUNDS=${2:-9}
bin=$(realpath "${FERRY:-$here/../build/ferry}")
DIR=$BASE/ls100k
mkdir -p "$BASE"
if [ ! -d "$DIR" ]; then
    rm -rf "$DIR.tmp"
    python3 - "$DIR.tmp" <<'PY'
import os, random, sys
d = sys.argv[1]
os.makedirs(d)
rng = random.Random(100000)
dropped = set(rng.sample(range(2, 100100), 100))  # never the first or last frame
body = b"x" * 512
for f in range(1, 100101):
    if f not in dropped:
        with open(os.path.join(d, f"sh010_comp_v003.{f:06d}.exr"), "wb") as out:
            out.write(body)
PY
    mv "$DIR.tmp" "$DIR"
    sync
fi
W=$(mktemp -d "$BASE/ls-run.XXXXXX")
trap 'rm -rf "$W"' EXIT
cp "$bin" "$W/ferry"

python3 - "$W/ferry" "$DIR" "$ROUNDS" <<'PY'
import os, re, statistics, subprocess, sys, time
ferry, d, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
cmds = {
    "ls -l": ["ls", "-l", d],
    "ferry ls": [ferry, "ls", d],
    "ferry ls --json": [ferry, "ls", "--json", d],
}
null = open(os.devnull, "w")
def run(argv):
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=null, check=True)
    return time.perf_counter() - t0
for argv in cmds.values():  # warm: dentries, inodes, the binaries
    run(argv)
t = {k: [] for k in cmds}
names = list(cmds)
for r in range(rounds):
    for k in names[r % 3:] + names[:r % 3]:
        t[k].append(run(cmds[k]))

def rss(argv):
    p = subprocess.run(["/usr/bin/time", "-v", *argv], stdout=null, stderr=subprocess.PIPE, text=True, check=True)
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
peak = {k: statistics.median(rss(v) for _ in range(3)) for k, v in cmds.items()}

n = len(os.listdir(d))
out = subprocess.run([ferry, "ls", d], capture_output=True, text=True, check=True).stdout.strip()
print(f"{n:,} files in {d}; {os.uname().release}, {os.cpu_count()} cores, locale {os.environ.get('LC_ALL') or os.environ.get('LANG') or 'C'}, {subprocess.run(['ls', '--version'], capture_output=True, text=True).stdout.splitlines()[0]}")
print(f"ferry ls prints: {out[:200]}\n")
base = statistics.median(t["ls -l"])
print(f"| {n:,} frames, warm cache, {rounds} rounds | median ms | min ms | max ms | ratio of medians | median of per-round ratios | peak RSS |")
print("|---|---|---|---|---|---|---|")
for k in names:
    v = t[k]
    ratios = [a / b for a, b in zip(v, t["ls -l"])]
    print(f"| `{k}` | {statistics.median(v) * 1000:.1f} | {min(v) * 1000:.1f} | {max(v) * 1000:.1f} | "
          f"**{statistics.median(v) / base:.2f}x** | {statistics.median(ratios):.2f}x | {peak[k] / 1024:.1f} MiB |")
PY
