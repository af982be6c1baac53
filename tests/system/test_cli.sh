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
