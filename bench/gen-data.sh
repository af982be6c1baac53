#!/usr/bin/env bash
# bench/gen-data.sh DIR: the three datasets of the copy benchmarks, made once.
#   DIR/big/plate.bin          one 500 MiB file of random bytes
#   DIR/seq/sh010_comp_v003.{1001..1781}.exr   781 files x 800 KiB (an EXR-like sequence)
#   DIR/small/dNN/fNNNN        20,000 files x 4 KiB in 20 directories of 1,000
set -euo pipefail
DIR=${1:?usage: gen-data.sh DIR}
mkdir -p "$DIR"
if [ ! -f "$DIR/big/plate.bin" ]; then
    mkdir -p "$DIR/big"
    head -c $((500 << 20)) /dev/urandom >"$DIR/big/plate.bin.tmp"
    mv "$DIR/big/plate.bin.tmp" "$DIR/big/plate.bin"
fi
if [ ! -d "$DIR/seq" ]; then
    mkdir -p "$DIR/seq.tmp"
    for f in $(seq 1001 1781); do
        head -c $((800 << 10)) /dev/urandom >"$DIR/seq.tmp/sh010_comp_v003.$f.exr"
    done
    mv "$DIR/seq.tmp" "$DIR/seq"
fi
if [ ! -d "$DIR/small" ]; then
    python3 - "$DIR/small.tmp" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(20):
    os.makedirs(f"{root}/d{d:02d}", exist_ok=True)
    for i in range(1000):
        with open(f"{root}/d{d:02d}/f{i:04d}", "wb") as f:
            f.write(os.urandom(4096))
PY
    mv "$DIR/small.tmp" "$DIR/small"
fi
