#!/bin/bash
# bench/daemon/cancel-ab.sh A B [BASE]: the cancel round trip of two ferry
# binaries, alternating, two series of RUNS (default 25) cancels per source
# each; the tables of bench/daemon/cancel.bench.mjs for each, in turn.
set -euo pipefail
cd "$(dirname "$0")/../.."
A=${1:?usage: cancel-ab.sh A B [BASE]} B=${2:?usage: cancel-ab.sh A B [BASE]}
BASE=${3:-/var/tmp/ferry-bench-daemon}
export FERRY_RTCLIENT=${FERRY_RTCLIENT:-build/ferry-rtclient} SETTLE_MS=${SETTLE_MS:-2000}
for s in 1 2; do
  for bin in "$A" "$B"; do
    echo "=== series $s: $bin"
    RUNS=${RUNS:-25} FERRY=$bin node bench/daemon/cancel.bench.mjs "$BASE"
  done
done
