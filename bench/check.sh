#!/usr/bin/env bash
# bench/check.sh [ROUNDS]: `ferry check` of 781 EXR frames of ~800 KB (target:
# well under a second), with 1, 2 and 8 (the default) threads, against `cat`
# of the same frames (reading every byte, which the check does not do).
#
# The frames, $FERRY_BENCH_DIR/exr781 (default /var/tmp/ferry-bench), are made
# once by ferry-mkexr --bytes 800K: 493x275 RGB half, no compression, so 275
# chunks a frame (the worst case for the check: one chunk header read per
# scanline). Warm: every command runs once before the timing. Cold: before
# each run every frame's pages are dropped from the page cache
# (posix_fadvise DONTNEED on each file: only these files, no global drop).
# ROUNDS (default 9) rounds, commands in an order that turns, medians.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${1:-9}
bin=$(realpath "${FERRY:-$here/../build/ferry}")
mkexr=$(realpath "${FERRY_MKEXR:-$(dirname "$bin")/ferry-mkexr}")
BASE=$(realpath -m "${FERRY_BENCH_DIR:-/var/tmp/ferry-bench}")
DIR=$BASE/exr781
mkdir -p "$BASE"
if [ ! -d "$DIR" ]; then
    rm -rf "$DIR.tmp"
    mkdir "$DIR.tmp"
    "$mkexr" --bytes 800K "$DIR.tmp/sh010_comp_v003.####.exr" 1001-1781
    mv "$DIR.tmp" "$DIR"
    sync
fi
W=$(mktemp -d "$BASE/check-run.XXXXXX")
trap 'rm -rf "$W"' EXIT
cp "$bin" "$W/ferry"

python3 - "$W/ferry" "$DIR" "$ROUNDS" <<'PY'
import glob, os, statistics, subprocess, sys, time
ferry, d, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
frames = sorted(glob.glob(os.path.join(d, "*.exr")))
cmds = {
    "ferry check -j 1": [ferry, "check", "-j", "1", d],
    "ferry check -j 2": [ferry, "check", "-j", "2", d],
    "ferry check": [ferry, "check", d],
    "cat (every byte)": ["sh", "-c", 'cat "$@" >/dev/null', "cat", *frames],
}
null = open(os.devnull, "w")
def drop():
    for f in frames:
        fd = os.open(f, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
def run(argv, cold):
    if cold:
        drop()
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=null, check=True)
    return time.perf_counter() - t0
names = list(cmds)
t = {(k, c): [] for k in names for c in (False, True)}
for k in names:  # warm: pages, dentries, the binaries
    run(cmds[k], False)
for cold in (False, True):
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            t[(k, cold)].append(run(cmds[k], cold))
size = sum(os.path.getsize(f) for f in frames)
out = subprocess.run([ferry, "check", d], capture_output=True, text=True, check=True).stdout.strip()
print(f"{len(frames)} frames, {size / 2**20:.0f} MiB in {d}; {os.uname().release}, {os.cpu_count()} cores")
print(f"ferry check prints: {out}\n")
print(f"| {len(frames)} x ~800 KB, {rounds} rounds | warm median ms | warm min | cold median ms | cold min |")
print("|---|---|---|---|---|")
for k in names:
    w, c = t[(k, False)], t[(k, True)]
    print(f"| `{k}` | **{statistics.median(w) * 1000:.0f}** | {min(w) * 1000:.0f} | "
          f"**{statistics.median(c) * 1000:.0f}** | {min(c) * 1000:.0f} |")
PY
