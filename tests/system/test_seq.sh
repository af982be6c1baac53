# ferry ls: sequences with gaps, single files, subdirectories, JSON.
. "$(dirname "$0")/lib.sh"

mkdir -p shots/sh010/sub
for f in $(seq 1001 1100); do
    case $f in 1042 | 1043) continue ;; esac
    head -c 8000 /dev/zero >"shots/sh010/sh010_comp_v003.$f.exr"
done
for f in 1 2 3; do : >"shots/sh010/sub/plate_000$f.dpx"; done
echo notes >shots/sh010/notes.txt
: >shots/sh010/comp_v001.nk
: >shots/sh010/comp_v002.nk

expect_rc 0 "$FERRY" ls shots/sh010
grep -qx 'shots/sh010/sh010_comp_v003.####.exr  1001-1100  98 frames  766 KiB  missing 1042-1043' "$T/out" \
    || { cat "$T/out"; fail "sequence line"; }
grep -qx 'shots/sh010/notes.txt  6 B' "$T/out" || fail "single file line"
grep -qx 'shots/sh010/comp_v001.nk  0 B' "$T/out" || fail "versions are not frames"
grep -qx 'shots/sh010/sub/' "$T/out" || fail "subdirectory"
pass "ls: a sequence with its gaps, single files, versions apart"

expect_rc 0 "$FERRY" ls -r shots
grep -qx 'shots/sh010/sub/plate_####.dpx  1-3  3 frames  0 B' "$T/out" || { cat "$T/out"; fail "recursive"; }
expect_rc 0 "$FERRY" ls --json shots/sh010
python3 - "$T/out" <<'PY' || fail "JSON listing"
import json, sys
v = json.load(open(sys.argv[1]))
s = [e for e in v if e["type"] == "sequence"][0]
assert s["count"] == 98 and s["missing"] == "1042-1043" and s["bytes"] == 98 * 8000, s
PY
expect_rc 1 "$FERRY" ls shots/nope
expect_err "cannot list 'shots/nope'"
pass "ls -r, --json, and a missing path"
