#!/usr/bin/env bash
# bench/daemon/run.sh [DATA]: the daemon benchmarks (daemon.bench.mjs).
set -euo pipefail
cd "$(dirname "$0")"
export FERRY=${FERRY:-$PWD/../../build/ferry}
DATA=${1:-${FERRY_BENCH_DIR:-/var/tmp/ferry-bench}}
node daemon.bench.mjs "$DATA"
node rss.bench.mjs "$DATA"
