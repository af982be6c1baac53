# The ferry command's surface: version, help, and usage errors (exit 2).
. "$(dirname "$0")/lib.sh"

expect_rc 0 "$FERRY" --version
grep -q '^ferry [0-9]' "$T/out" || fail "--version prints 'ferry X.Y.Z'"
expect_rc 0 "$FERRY" --help
grep -q 'copy' "$T/out" || fail "--help lists the copy command"
expect_rc 0 "$FERRY" help copy
grep -q -- '--on-conflict' "$T/out" || fail "help copy documents --on-conflict"
expect_rc 0 "$FERRY" copy --help
pass "version and help"

expect_rc 2 "$FERRY"
expect_rc 2 "$FERRY" --frobnicate
expect_err "unknown option '--frobnicate'"
expect_rc 2 "$FERRY" frobnicate
expect_err "unknown command 'frobnicate'"
expect_rc 2 "$FERRY" help frobnicate
expect_rc 2 "$FERRY" copy
expect_err "needs at least one SOURCE and a DEST"
expect_rc 2 "$FERRY" copy onlyone
expect_rc 2 "$FERRY" copy --bogus a b
expect_err "unknown option '--bogus'"
expect_rc 2 "$FERRY" copy --bwlimit fast a b
expect_err "--bwlimit"
expect_rc 2 "$FERRY" copy --on-conflict maybe a b
expect_err "expected fail, skip, overwrite or rename"
expect_rc 2 "$FERRY" copy --jobs 0 a b
expect_rc 2 "$FERRY" copy --bwlimit
expect_err "needs a value"
pass "usage errors exit 2 with a clear message"

# Options after operands, as cp, rsync and every GNU tool take them; '--' ends
# the options, so a name that starts with '-' is an operand.
mkdir -p src/sh010
for f in $(seq 1001 1010); do printf 'frame %s\n' "$f" >"src/sh010/comp.$f.exr"; done
printf 'plate\n' >plate.exr
expect_rc 0 "$FERRY" copy plate.exr out1 --no-fsync --tag late -q
[ "$(cat out1)" = plate ] || fail "copy SRC DEST --no-fsync: out1"
[ ! -e ./--no-fsync ] || fail "--no-fsync taken as the destination"
expect_rc 0 "$FERRY" jobs --tag late
grep -q ' late ' "$T/out" || fail "--tag after the operands was not applied"
expect_rc 0 "$FERRY" copy 'src/sh010/comp.####.exr' --frames 1001-1007x2 --renumber 1 --pad 3 out2
[ "$(ls out2 | tr '\n' ' ')" = "comp.001.exr comp.002.exr comp.003.exr comp.004.exr " ] ||
    { ls out2; fail "--frames --renumber --pad after the pattern"; }
mkdir -p -- -dash
printf 'dash\n' >./-dash/-f.exr
expect_rc 0 "$FERRY" copy -q -- -dash out3
[ "$(cat out3/-f.exr)" = dash ] || fail "copy -- -dash: a source that starts with '-'"
expect_rc 2 "$FERRY" copy plate.exr out4 --frobnicate
expect_err "unknown option '--frobnicate'"
pass "copy: options after the operands; '--' ends them"

expect_rc 0 "$FERRY" ls src/sh010 --json
grep -q '"count":10' "$T/out" || fail "ls PATH --json"
expect_rc 0 "$FERRY" ls -- -dash
grep -q -- '-dash/-f.exr' "$T/out" || fail "ls -- -dash"
expect_rc 1 "$FERRY" check src/sh010 --json
grep -q '"checked":10' "$T/out" || fail "check PATH --json"
expect_rc 1 "$FERRY" check -- -dash/-f.exr
grep -q -- '-dash/-f.exr' "$T/out" || fail "check -- -dash/-f.exr"
id=$("$FERRY" jobs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
expect_rc 1 "$FERRY" resume "$id" --json
expect_err "only interrupted or cancelled"
expect_rc 2 "$FERRY" jobs extra --json
expect_err "unexpected argument 'extra'"
expect_rc 2 "$FERRY" serve extra --listen 127.0.0.1:0
expect_err "unexpected argument 'extra'"
pass "ls, check, resume, jobs, serve: options after the operands"
