#!/usr/bin/env bash
# bench/daemon/run.sh [DATA]: the daemon benchmarks (daemon.bench.mjs).
set -euo pipefail
cd "$(dirname "$0")"
export FERRY=${FERRY:-$PWD/../../build/ferry}
node daemon.bench.mjs "${1:-${FERRY_BENCH_DIR:-/var/tmp/ferry-bench}}"
