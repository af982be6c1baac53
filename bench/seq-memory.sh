#!/usr/bin/env bash
# bench/seq-memory.sh [DIR]: the memory of `ferry copy` of a sequence source
# of 1,000, 10,000 and 100,000 frames (the frames of ls.sh's ls100k dataset,
# made if missing), sampled every half second: peak RSS per size, and how
# much RSS moves between the end of planning and the end of the copy (what
# "stays flat" means: nothing grows with the frames copied). Needs GNU time.
set -euo pipefail
cd "$(dirname "$0")"
BASE=${1:-${FERRY_BENCH_DIR:-/var/tmp/ferry-bench}}
DATA=$BASE/ls100k
PATTERN="$DATA/sh010_comp_v003.######.exr"
[ -d "$DATA" ] || bash ./ls.sh "$BASE" >/dev/null
BIN=$BASE/ferry.seqmem.$$
cp "${FERRY:-../build/ferry}" "$BIN"
OUT=$BASE/seqmem.$$
trap 'rm -rf "$BIN" "$OUT"' EXIT

echo "| frames asked | planned | peak RSS | RSS after planning | RSS at the end | copy s |"
echo "|---|---|---|---|---|---|"
for n in 1000 10000 100000; do
    mkdir -p "$OUT"
    start=$(date +%s.%N)
    /usr/bin/time -o "$OUT/peak" -f %M \
        "$BIN" copy -q --no-fsync --no-journal --frames "1-$n" "$PATTERN" "$OUT/o$n" 2>"$OUT/err" &
    tpid=$!
    pid=
    while [ -z "$pid" ] && kill -0 "$tpid" 2>/dev/null; do pid=$(pgrep -P "$tpid" || true); done
    samples=()
    while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        [ -n "$rss" ] && samples+=("$rss")
        sleep 0.5
    done
    wait "$tpid" || true
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    planned=$(find "$OUT/o$n" -type f | wc -l)
    peak=$(tail -1 "$OUT/peak")
    # The second sample is taken after planning for all but the smallest runs.
    first=${samples[1]:-${samples[0]:-0}}
    last=${samples[-1]:-0}
    printf '| %d | %d | %d MiB | %d MiB | %d MiB | %.1f |\n' "$n" "$planned" $((peak / 1024)) \
        $((first / 1024)) $((last / 1024)) "$secs"
    rm -rf "$OUT"
    sync
done
