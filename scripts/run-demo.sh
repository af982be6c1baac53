#!/usr/bin/env bash
# `make run`: starts `ferry serve` on a demo directory and prints the URL to open.
# The demo (demo/ in the checkout, ignored by git) holds a small sample: an EXR
# sequence when the sample writer is built, plain files otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
FERRY=${1:-build/ferry}
DEMO=${FERRY_DEMO_DIR:-$PWD/demo}

if [ ! -d "$DEMO/shots" ]; then
    mkdir -p "$DEMO/shots" "$DEMO/server"
    if [ -x build/ferry-mkexr ] && [ -f scripts/make-demo.sh ]; then
        bash scripts/make-demo.sh "$DEMO/shots"
    else
        mkdir -p "$DEMO/shots/sh010/plates"
        for f in $(seq 1001 1024); do
            head -c 800000 /dev/urandom >"$DEMO/shots/sh010/plates/sh010_plate_v001.$f.exr"
        done
        truncate -s 500M "$DEMO/shots/sh010/sh010_plate_v001.mov"
    fi
    echo "make run: demo data in $DEMO"
fi

echo "make run: starting ferry serve (Ctrl-C stops it); open the URL below"
exec "$FERRY" serve --root "$DEMO" --state-dir "$DEMO/.state" --listen "${FERRY_LISTEN:-127.0.0.1:8470}"
