# ferry copy with sequence sources: patterns, --frames, --renumber, --pad,
# missing frames, --require-complete, and what a journal keeps for resume.
. "$(dirname "$0")/lib.sh"

mkdir -p src/sh010 src/sh020
for f in $(seq 1001 1020); do
    case $f in 1005 | 1006) continue ;; esac
    printf 'frame %s\n' "$f" >"src/sh010/comp.$f.exr"
done
printf 'version\n' >src/sh010/comp_v003.nk
printf 'other\n' >src/sh010/plate.1001.dpx
for f in 1 2 3 10 11; do printf 'f%s\n' "$f" >"src/sh020/bg_$f.tif"; done

# Every frame on disk; the gap is reported; nothing else is copied.
expect_rc 0 "$FERRY" copy 'src/sh010/comp.####.exr' out1
[ "$(ls out1 | wc -l)" -eq 18 ] || { ls out1; fail "18 frames expected in out1"; }
[ "$(cat out1/comp.1020.exr)" = "frame 1020" ] || fail "frame content"
[ ! -e out1/comp_v003.nk ] && [ ! -e out1/plate.1001.dpx ] || fail "non-frames copied"
expect_err "src/sh010/comp.####.exr: 18 of 18 frames copied (1001-1004,1007-1020)"
expect_err "src/sh010/comp.####.exr: 2 frames missing: 1005-1006"
no_temps out1
pass "a pattern copies the frames on disk into DEST and reports the gap"

# Every notation names the same frames.
for pat in 'comp.@@@@.exr' 'comp.%04d.exr' 'comp.$F4.exr'; do
    rm -rf outn
    expect_rc 0 "$FERRY" copy "src/sh010/$pat" outn
    [ "$(ls outn | wc -l)" -eq 18 ] || fail "notation $pat"
done
pass "#, @, %04d and \$F4 notations"

# --frames with a step, then --renumber and --pad.
expect_rc 0 "$FERRY" copy --frames 1001-1010x3 'src/sh010/comp.####.exr' out2
[ "$(ls out2 | tr '\n' ' ')" = "comp.1001.exr comp.1004.exr comp.1007.exr comp.1010.exr " ] \
    || { ls out2; fail "--frames 1001-1010x3"; }
expect_rc 0 "$FERRY" copy --frames 1001-1004 --renumber 1 --pad 3 'src/sh010/comp.####.exr' out3
[ "$(ls out3 | tr '\n' ' ')" = "comp.001.exr comp.002.exr comp.003.exr comp.004.exr " ] \
    || { ls out3; fail "--renumber 1 --pad 3"; }
[ "$(cat out3/comp.003.exr)" = "frame 1003" ] || fail "renumbered content"
expect_rc 0 "$FERRY" copy --renumber 101 'src/sh010/comp.####.exr' out4
[ -f out4/comp.0101.exr ] && [ -f out4/comp.0120.exr ] && [ ! -e out4/comp.0105.exr ] \
    || { ls out4; fail "--renumber without --frames keeps the gaps"; }
[ "$(cat out4/comp.0107.exr)" = "frame 1007" ] || fail "renumber shift"
pass "--frames with a step, --renumber, --pad"

# --renumber numbers a stepped selection consecutively (dailies: 1, 2, 3);
# --keep-step shifts it instead; a stepped sequence on disk counts as stepped.
expect_rc 0 "$FERRY" copy --frames 1007-1015x2 --renumber 1 --pad 3 'src/sh010/comp.####.exr' out4b
[ "$(ls out4b | tr '\n' ' ')" = "comp.001.exr comp.002.exr comp.003.exr comp.004.exr comp.005.exr " ] \
    || { ls out4b; fail "--renumber 1 of 1007-1015x2 gives 1 to 5"; }
[ "$(cat out4b/comp.004.exr)" = "frame 1013" ] || fail "consecutive renumbering: content"
# A missing frame (1005) keeps its number free: the others do not move.
expect_rc 0 "$FERRY" copy --frames 1001-1009x2 --renumber 1 --pad 3 'src/sh010/comp.####.exr' out4f
[ "$(ls out4f | tr '\n' ' ')" = "comp.001.exr comp.002.exr comp.004.exr comp.005.exr " ] \
    || { ls out4f; fail "a missing frame keeps its number"; }
expect_rc 0 "$FERRY" copy --frames 1001-1009x2 --renumber 1 --keep-step --pad 3 'src/sh010/comp.####.exr' out4c
[ "$(ls out4c | tr '\n' ' ')" = "comp.001.exr comp.003.exr comp.007.exr comp.009.exr " ] \
    || { ls out4c; fail "--keep-step keeps the step"; }
mkdir -p src/sh015
for f in 1001 1003 1005 1007; do printf 'frame %s\n' "$f" >"src/sh015/bg.$f.exr"; done
expect_rc 0 "$FERRY" copy --renumber 1 'src/sh015/bg.####.exr' out4d
[ "$(ls out4d | tr '\n' ' ')" = "bg.0001.exr bg.0002.exr bg.0003.exr bg.0004.exr " ] \
    || { ls out4d; fail "--renumber of a stepped sequence on disk"; }
expect_rc 2 "$FERRY" copy --keep-step 'src/sh010/comp.####.exr' out4e
expect_err "--keep-step applies with --renumber"
pass "--renumber numbers consecutively; --keep-step shifts"

# Unpadded sources; a frame wider than the padding.
expect_rc 0 "$FERRY" copy --pad 4 'src/sh020/bg_@.tif' out5
[ "$(ls out5 | tr '\n' ' ')" = "bg_0001.tif bg_0002.tif bg_0003.tif bg_0010.tif bg_0011.tif " ] \
    || { ls out5; fail "unpadded to --pad 4"; }
expect_err "6 frames missing: 4-9"
pass "unpadded frames padded on the way"

# Missing frames asked for: reported, the rest copied; --require-complete refuses.
expect_rc 0 "$FERRY" copy --frames 1003-1008 'src/sh010/comp.####.exr' out6
[ "$(ls out6 | wc -l)" -eq 4 ] || fail "4 of 6 frames exist"
expect_err "2 frames missing: 1005-1006"
expect_rc 1 "$FERRY" copy --require-complete --frames 1003-1008 'src/sh010/comp.####.exr' out7
expect_err "'src/sh010/comp.####.exr': 2 frames missing: 1005-1006 (--require-complete)"
[ ! -e out7 ] || [ -z "$(ls out7)" ] || fail "--require-complete copied frames"
expect_rc 0 "$FERRY" copy --require-complete --frames 1007-1020 'src/sh010/comp.####.exr' out8
[ "$(ls out8 | wc -l)" -eq 14 ] || fail "complete range copied"
pass "missing frames reported; --require-complete refuses before copying"

# Bad input: clear errors, exit 2 for usage, 1 when the job cannot run.
expect_rc 2 "$FERRY" copy --frames 10-x 'src/sh010/comp.####.exr' out9
expect_err "--frames"
expect_rc 2 "$FERRY" copy --pad 0 'src/sh010/comp.####.exr' out9
expect_err "invalid --pad '0'"
expect_rc 2 "$FERRY" copy --renumber abc 'src/sh010/comp.####.exr' out9
expect_err "invalid --renumber 'abc'"
expect_rc 1 "$FERRY" copy --frames 1-5 src/sh010/comp.1001.exr out9
expect_err "--frames applies to sequence sources"
expect_rc 1 "$FERRY" copy 'src/sh010/nothing.####.exr' out10
expect_err "no frames of 'src/sh010/nothing.####.exr' on disk"
expect_rc 1 "$FERRY" copy --frames 1-9999999999 'src/sh010/comp.####.exr' out11
expect_err "asks for more than"
pass "bad sequence options and empty patterns give clear errors"

# A file whose name holds '#' is copied as itself, not read as a pattern.
printf 'literal\n' >'src/sh010/take#1.txt'
mkdir out12
expect_rc 0 "$FERRY" copy 'src/sh010/take#1.txt' out12/
[ "$(cat 'out12/take#1.txt')" = "literal" ] || fail "a literal '#' name"
pass "an existing name is a file, whatever it holds"

# --json: one sequence event per sequence source, after the end event.
expect_rc 0 "$FERRY" copy --json --frames 1001-1008 'src/sh010/comp.####.exr' out13
python3 - "$T/out" <<'PY' || fail "--json sequence event"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
s = [e for e in ev if e["event"] == "sequence"]
assert len(s) == 1, ev
s = s[0]
assert s["frames"] == "1001-1004,1007-1008" and s["frames_count"] == 6, s
assert s["missing"] == "1005-1006" and s["missing_count"] == 2, s
assert s["done"] == "1001-1004,1007-1008" and s["failed"] == "", s
assert s["dest"].endswith("out13/comp.####.exr"), s
PY
pass "--json reports each sequence's frames"

# Resume of a cancelled sequence job uses the journalled pattern and shift.
mkdir -p src/sh030
for f in 1 2 3 4; do head -c 4000000 /dev/urandom >"src/sh030/plate.$f.exr"; done
rc=0
timeout --preserve-status -s INT 1 "$FERRY" copy --bwlimit 4M --renumber 11 --pad 3 'src/sh030/plate.@.exr' out14 \
    >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 130 ] || fail "cancelled copy exited $rc"
id=$("$FERRY" jobs --json | python3 -c '
import json, sys
print([j for j in json.load(sys.stdin) if j["dest"].endswith("out14")][0]["id"])')
expect_rc 0 "$FERRY" resume "$id"
[ "$(ls out14 | tr '\n' ' ')" = "plate.011.exr plate.012.exr plate.013.exr plate.014.exr " ] \
    || { ls -a out14; fail "resume of a renumbered sequence"; }
cmp src/sh030/plate.4.exr out14/plate.014.exr || fail "resumed content"
no_temps out14
pass "resume continues a cancelled sequence copy under the same names"

# --check-exr: a broken frame fails with its cause and never gets its name;
# the sound frames land; without the option the broken one is copied as is.
: "${FERRY_MKEXR:?set FERRY_MKEXR to the ferry-mkexr binary}"
mkdir -p src/sh040
"$FERRY_MKEXR" src/sh040/beauty.####.exr 1-6
truncate -s $(($(stat -c %s src/sh040/beauty.0003.exr) - 100)) src/sh040/beauty.0003.exr
: >src/sh040/beauty.0005.exr
expect_rc 1 "$FERRY" copy --check-exr 'src/sh040/beauty.####.exr' out15
expect_err "EXR check of 'src/sh040/beauty.0003.exr': truncated"
expect_err "EXR check of 'src/sh040/beauty.0005.exr': empty file"
expect_err "2 frames failed: 3,5"
[ "$(ls out15 | tr '\n' ' ')" = "beauty.0001.exr beauty.0002.exr beauty.0004.exr beauty.0006.exr " ] \
    || { ls -a out15; fail "--check-exr: only the sound frames land"; }
cmp src/sh040/beauty.0006.exr out15/beauty.0006.exr || fail "a checked frame's content"
no_temps out15
expect_rc 0 "$FERRY" copy 'src/sh040/beauty.####.exr' out16
[ "$(ls out16 | wc -l)" -eq 6 ] || fail "without --check-exr every frame is copied"
echo 'not an exr' >src/sh040/notes.txt
expect_rc 0 "$FERRY" copy --check-exr src/sh040/notes.txt out17
pass "--check-exr fails broken frames with their cause, leaves other files alone"
