#!/usr/bin/env bash
# bench/run-all.sh: every benchmark (make bench). Data in $FERRY_BENCH_DIR
# (default /var/tmp/ferry-bench), raw output in bench/out/.
set -euo pipefail
cd "$(dirname "$0")"
DATA=${FERRY_BENCH_DIR:-/var/tmp/ferry-bench}
OUT="$DATA/runs-$(date +%s)"
mkdir -p out "$OUT"
export FERRY=${FERRY:-$PWD/../build/ferry}
echo "== machine: $(nproc) cores, $(uname -r), $(stat -f -c %T "$DATA") at $DATA"
bash gen-data.sh "$DATA"
python3 copy.py "$DATA" "$OUT/copy" "${ROUNDS:-5}" | tee out/copy.md
python3 cancel-latency.py "$DATA" "$OUT/cancel" "${RUNS:-100}" | tee out/cancel.md
bash ls.sh "$DATA" "${ROUNDS:-5}" | tee out/ls.md
if [ -x daemon/run.sh ]; then bash daemon/run.sh | tee out/daemon.md; fi
rm -rf "$OUT"
