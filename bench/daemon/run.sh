#!/usr/bin/env bash
# bench/daemon/run.sh [BASE]: the daemon benchmarks, each printing markdown
# tables (docs/benchmarks.md, section "The daemon"):
#   cancel.bench.mjs    cancel round trip: POST cancel -> answer, -> WS event
#   seq.bench.mjs       781 x 800 KiB through the daemon vs `ferry copy`
#   watchers.bench.mjs  N WebSocket watchers during 20,000 files vs none; API p99
#                       (watchers.child.mjs: the watchers, in their own process)
#   rss.bench.mjs       the daemon's memory during jobs of 1,000, 10,000 and
#                       100,000 files, and idle
#   lib.mjs             what they share: run directories, percentiles, a raw
#                       HTTP client, the machine's state, /proc/PID/status
# BASE (default $FERRY_BENCH_DAEMON_DIR or /var/tmp/ferry-bench-daemon) holds
# the datasets in data/ (made once), raw samples in logs/, and a fresh
# run-* directory per benchmark, removed at its end. The binary ($FERRY,
# default build/ferry) is copied first, so that a rebuild during the run does
# not change what is measured. Knobs (environment): RUNS (cancels per source,
# 200), BWLIMIT (of the cancelled copies, 200M), ROUNDS (seq 7, watchers 5),
# WATCHERS (100), WATCHERS_NICE (the watchers' process under nice -n, 0), JOBS (jobs per daemon in rss, 2), SIZES (the rss job
# sizes, 1000,10000,100000), PAUSE_MS (after sync, before each timed run,
# 2000), SETTLE_MS (after removing a run, 20000).
# A quick check that everything runs: RUNS=20 ROUNDS=1 WATCHERS=10 JOBS=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${FERRY:-$here/../../build/ferry}") # before the cd: FERRY may be relative
BASE=$(realpath -m "${1:-${FERRY_BENCH_DAEMON_DIR:-/var/tmp/ferry-bench-daemon}}")
cd "$here"
mkdir -p "$BASE"
cp "$bin" "$BASE/ferry.$$"
cp "$(dirname "$bin")/ferry-rtclient" "$BASE/ferry-rtclient.$$" # times the HTTP requests
export FERRY="$BASE/ferry.$$" FERRY_RTCLIENT="$BASE/ferry-rtclient.$$"
trap 'rm -f "$FERRY" "$FERRY_RTCLIENT"' EXIT
bash ../gen-data.sh "$BASE/data" >&2
echo "$bin ($("$FERRY" --version), sha256 $(sha256sum "$FERRY" | head -c 12)), $(date -u +%Y-%m-%dT%H:%MZ)"
failed=0
for b in cancel seq watchers rss; do
    echo
    echo "### $b"
    echo
    node "$b.bench.mjs" "$BASE" || { echo "**$b.bench.mjs failed (exit $?)**"; failed=1; }
done
exit "$failed"
