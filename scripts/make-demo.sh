#!/usr/bin/env bash
# make-demo.sh DIR: the demo's shots, written by ferry-mkexr (real EXR frames):
#   sh010/comp    a complete sequence of 48 frames of ~800 KB
#   sh020/comp    a sequence with gaps (1012-1014 and 1030 missing)
#   sh030/render  a sequence with one truncated frame (1017), which ferry check names
#   sh010/plates  a 500 MB plate (sparse: it costs no disk)
# scripts/run-demo.sh calls it once the build has made build/ferry-mkexr.
set -euo pipefail
DIR=$(realpath -m "${1:?usage: make-demo.sh DIR}")
MKEXR=$(realpath -m "${FERRY_MKEXR:-$(dirname "$0")/../build/ferry-mkexr}")
[ -x "$MKEXR" ] || { echo "make-demo.sh: $MKEXR is not built (make build)" >&2; exit 1; }

mkdir -p "$DIR/sh010/comp" "$DIR/sh010/plates" "$DIR/sh020/comp" "$DIR/sh030/render"
"$MKEXR" --bytes 800K "$DIR/sh010/comp/sh010_comp_v003.####.exr" 1001-1048
"$MKEXR" --size 480x270 --zip "$DIR/sh020/comp/sh020_comp_v001.####.exr" 1001-1011,1015-1029,1031-1048
"$MKEXR" --size 480x270 "$DIR/sh030/render/sh030_beauty_v002.####.exr" 1001-1024
f="$DIR/sh030/render/sh030_beauty_v002.1017.exr"
truncate -s $(($(stat -c %s "$f") / 2)) "$f"
truncate -s 500M "$DIR/sh010/plates/sh010_plate_v001.mov"
