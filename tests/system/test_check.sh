# ferry check: real frames written by ferry-mkexr pass in every layout; frames
# cut mid-header, mid-chunk-table and mid-last-chunk, empty, random bytes, a
# cut tiled and a cut multi-part frame are each named with their cause and
# exit 1; directories, -r, sequence patterns, gaps, --json, exit 2.
. "$(dirname "$0")/lib.sh"
: "${FERRY_MKEXR:?set FERRY_MKEXR to the ferry-mkexr binary}"
MK=$FERRY_MKEXR

# has LINE: the last command's stdout holds exactly this line.
has() { grep -qxF -- "$1" "$T/out" || { cat "$T/out"; fail "stdout lacks line '$1'"; }; }

mkdir -p shots/sh010 shots/sh020/sub shots/empty
"$MK" shots/sh010/sh010_comp.####.exr 1001-1024
"$MK" --tiled shots/sh020/tiled.####.exr 1-3
"$MK" --parts 3 --zip shots/sh020/multi.####.exr 1-3
"$MK" --zip --size 320x180 shots/sh020/sub/zip.%04d.exr 1-3
"$MK" shots/sh020/beauty.####.exr 7
echo notes >shots/sh020/notes.txt

expect_rc 0 "$FERRY" check shots/sh010
has 'shots/sh010/sh010_comp.####.exr  1001-1024  24 frames  sound'
expect_rc 0 "$FERRY" check -r shots/sh020
has 'shots/sh020/multi.####.exr  1-3  3 frames  sound'
has 'shots/sh020/tiled.####.exr  1-3  3 frames  sound'
has 'shots/sh020/beauty.0007.exr  sound'
has 'shots/sh020/sub/zip.####.exr  1-3  3 frames  sound'
has '10 files checked: all sound'
grep -q notes.txt "$T/out" && fail "a file that is not .exr was checked"
pass "sound frames pass: scanline, tiled, ZIP, multi-part, a single frame; -r"

# A 64x36 RGB-half frame without compression: header, a table of 36
# offsets, then 36 chunks of 8 + 64 * 6 bytes.
s=shots/sh010/sh010_comp
size=$(stat -c %s $s.1001.exr)
table=$((size - 36 * 392))
hdr=$((table - 36 * 8))
truncate -s $((hdr - 20)) $s.1003.exr  # mid-header
truncate -s $((hdr + 144)) $s.1007.exr # mid-chunk-table
truncate -s $((size - 100)) $s.1011.exr # mid-last-chunk
: >$s.1015.exr
head -c 5000 /dev/urandom >$s.1019.exr
truncate -s -50 shots/sh020/tiled.0002.exr
truncate -s -1 shots/sh020/multi.0003.exr

expect_rc 1 "$FERRY" check shots/sh010
has "$s.1003.exr: truncated: the header is cut short, file has $((hdr - 20)) bytes"
has "$s.1007.exr: truncated: the chunk table ends at byte $table, file has $((hdr + 144)) bytes"
has "$s.1011.exr: truncated: chunk 36 of 36 ends at byte $size, file has $((size - 100)) bytes"
has "$s.1015.exr: empty file"
has "$s.1019.exr: not an EXR file: bad magic number"
has "$s.####.exr  1001-1024  24 frames  5 broken: 1003 (truncated), 1007 (truncated), 1011 (truncated), 1015 (empty file), 1019 (not an EXR file)"
[ "$(grep -c '^[^ ]*\.exr: ' "$T/out")" -eq 5 ] || { cat "$T/out"; fail "sound frames reported"; }
expect_rc 1 "$FERRY" check shots/sh020
has "shots/sh020/tiled.0002.exr: truncated: chunk 4 of 4 ends at byte $(($(stat -c %s shots/sh020/tiled.0001.exr))), file has $(stat -c %s shots/sh020/tiled.0002.exr) bytes"
grep -q "^shots/sh020/multi.0003.exr: truncated: chunk 3 of 3 of part 'part2' ends at byte " "$T/out" \
    || { cat "$T/out"; fail "multi-part frame"; }
has 'shots/sh020/multi.####.exr  1-3  3 frames  1 broken: 3 (truncated)'
pass "broken frames named with their cause: header, chunk table, last chunk, empty, noise, tiled, multi-part"

# Sequence patterns, in any notation; gaps; a lone file; paths that are not there.
rm $s.1020.exr
expect_rc 1 "$FERRY" check "$s.####.exr"
has "$s.####.exr  1001-1024  23 frames  missing 1020  5 broken: 1003 (truncated), 1007 (truncated), 1011 (truncated), 1015 (empty file), 1019 (not an EXR file)"
expect_rc 1 "$FERRY" check "$s.%04d.exr"
has "$s.####.exr  1001-1024  23 frames  missing 1020  5 broken: 1003 (truncated), 1007 (truncated), 1011 (truncated), 1015 (empty file), 1019 (not an EXR file)"
expect_rc 0 "$FERRY" check "$s.1001.exr"
has "$s.1001.exr  sound"
expect_rc 1 "$FERRY" check "$s.1015.exr"
has "$s.1015.exr: empty file"
expect_rc 2 "$FERRY" check "shots/sh010/other.####.exr"
expect_err "cannot check 'shots/sh010/other.####.exr': no frame of it on disk"
expect_rc 2 "$FERRY" check shots/nope "$s.1001.exr"
expect_err "cannot check 'shots/nope': No such file or directory"
has "$s.1001.exr  sound"
expect_rc 0 "$FERRY" check shots/empty
has 'shots/empty  no EXR files'
expect_rc 2 "$FERRY" check
expect_err "no PATH to check"
expect_rc 2 "$FERRY" check --jobs 0 shots
pass "patterns (#### and %04d) with gaps, single files, missing paths, exit 2"

# Past ten broken frames the summary counts the rest; any -j prints the same.
mkdir -p shots/dead
"$MK" shots/dead/d.####.exr 1-12
for f in shots/dead/d.*.exr; do truncate -s 1000 "$f"; done
expect_rc 1 "$FERRY" check -j 1 shots/dead
cp "$T/out" "$T/out1"
grep -q '  12 frames  12 broken: 1 (truncated), .*, 10 (truncated) and 2 more$' "$T/out" \
    || { cat "$T/out"; fail "summary of many broken frames"; }
expect_rc 1 "$FERRY" check -j 4 shots/dead
cmp -s "$T/out" "$T/out1" || fail "-j 4 printed differently from -j 1"
pass "many broken frames; the output does not depend on -j"

expect_rc 1 "$FERRY" check --json shots/sh010 shots/sh020/beauty.0007.exr
python3 - "$T/out" "$s" <<'PY' || fail "JSON document"
import json, sys
v = json.load(open(sys.argv[1]))
s = sys.argv[2]
assert v["checked"] == 24 and v["broken"] == 5 and v["unreadable"] == 0, v
files = {f["path"]: f for f in v["files"]}
assert files[s + ".1001.exr"] == {"path": s + ".1001.exr", "status": "sound", "error": None,
                                  "sequence": s + ".####.exr", "frame": 1001}, files[s + ".1001.exr"]
assert files[s + ".1015.exr"]["status"] == "broken" and files[s + ".1015.exr"]["error"] == "empty file"
assert files[s + ".1011.exr"]["error"].startswith("truncated: chunk 36 of 36 ends at byte ")
single = files["shots/sh020/beauty.0007.exr"]
assert single["status"] == "sound" and "sequence" not in single, single
(q,) = v["sequences"]
assert q == {"path": s + ".####.exr", "frames": "1001-1024", "count": 23, "missing": "1020",
             "missing_count": 1, "broken": "1003-1019x4", "broken_count": 5}, q
PY
pass "--json: every file's result and the sequences' summaries"
