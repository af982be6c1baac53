# tests/system/lib.sh: shared helpers of the system tests (sourced).
# Each test runs the real ferry binary ($FERRY) on real files in a fresh
# temp directory ($T) that is removed on exit.
set -euo pipefail

: "${FERRY:?set FERRY to the ferry binary}"
T=$(mktemp -d /tmp/ferry-systest.XXXXXX)
cleanup_hooks=()
cleanup() {
    local h
    for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
    rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
# Each test keeps its own journal.
export XDG_STATE_HOME="$T/state"

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# expect_rc WANT CMD...: runs CMD, keeps stdout in $T/out and stderr in $T/err.
expect_rc() {
    local want=$1; shift
    local rc=0
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
        fail "'$*' exited $rc, expected $want"
    fi
}

# expect_err TEXT: stderr of the last expect_rc contains TEXT.
expect_err() {
    grep -qF -- "$1" "$T/err" || { cat "$T/err"; fail "stderr lacks '$1'"; }
}

# no_temps DIR: no temp file of ferry is left anywhere under DIR.
no_temps() {
    local left
    left=$(find "$1" -name '.ferry-tmp-*' 2>/dev/null | head -5)
    [ -z "$left" ] || fail "temp files left in $1: $left"
}

# same_tree A B: identical contents, symlinks, modes and mtimes.
same_tree() {
    diff -r --no-dereference "$1" "$2" >/dev/null || fail "contents of $1 and $2 differ"
    local a b
    a=$(cd "$1" && find . -mindepth 1 -printf '%P %y %m %T@ %l\n' | sort)
    b=$(cd "$2" && find . -mindepth 1 -printf '%P %y %m %T@ %l\n' | sort)
    [ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b") | head -20; fail "metadata of $1 and $2 differ"; }
}

now_ms() { date +%s%3N; }
