# File names with control characters and bytes that are not UTF-8 never reach
# the terminal raw: ls, check, copy (progress bar, errors, summary) and jobs
# show them in GNU ls's shell quoting ('evil'$'\n''name'), on a terminal (run
# under script(1)) and on a pipe alike; --json stays exact.
. "$(dirname "$0")/lib.sh"

# names/: a frame per byte 1-31 and 127, one name with all of them, the name
# of the issue, and names that are not UTF-8 (a lone byte, an overlong '/',
# a C1 control).
python3 - <<'EOF'
import os
os.mkdir(b"names")
def mk(name, size=65536):
    with open(b"names/" + name, "wb") as f:
        f.write(os.urandom(size))
for b in list(range(1, 32)) + [127]:
    mk(b"f%03d" % b + bytes([b]) + b"x.exr")
mk(bytes(range(1, 32)) + b"\x7fall.exr")
mk(b"evil\nname\rwith\x1b[31mred.exr")
mk(b"bad\xff.exr")
mk(b"ov\xc0\xaf.exr")
mk(b"c1\xc2\x9b.exr")
EOF

# clean FILE [tty]: no control byte, DEL or invalid UTF-8 in FILE but line
# ends; on a terminal, also the bar's own \r, ESC[K, ESC[J and ESC[nA.
clean() {
    python3 - "$1" "${2:-}" <<'EOF' || { cat -v "$1" | head -20; fail "raw bytes of a name in $1"; }
import re, sys
data = open(sys.argv[1], "rb").read()
if sys.argv[2] == "tty":
    data = re.sub(rb"\x1b\[(K|J|[0-9]+A)", b"", data).replace(b"\r", b"")
bad = [c for c in data if (c < 32 and c != 10) or c == 127]
try:
    data.decode("utf-8")
except UnicodeDecodeError as e:
    sys.exit("not UTF-8: %s" % e)
for c in data.decode("utf-8"):
    if 0x80 <= ord(c) <= 0x9f:
        sys.exit("C1 control U+%04X" % ord(c))
if bad:
    sys.exit("raw bytes %s" % sorted(set(bad)))
EOF
}
# tty CMD...: runs CMD on a terminal (script); output (stdout and stderr) in $T/tty.
tty() {
    local cmd=""
    for a in "$@"; do cmd+=" $(printf '%q' "$a")"; done
    script -qfec "$cmd" /dev/null >"$T/tty" 2>&1 || true
}
TAIL="'\$'\\n''name'\$'\\r''with'\$'\\033''[31mred.exr'"
EVIL="'names/evil$TAIL"

expect_rc 0 "$FERRY" ls names
clean "$T/out"
grep -qF "$EVIL" "$T/out" || fail "ls: the name shown quoted as ls does: $(cat -v "$T/out")"
grep -qF "'names/bad'\$'\\377''.exr'" "$T/out" || fail "ls: a byte not UTF-8 as \$'\\377'"
grep -qF "'names/c1'\$'\\302\\233''.exr'" "$T/out" || fail "ls: a C1 control escaped"
grep -qF "'names/f027'\$'\\033''x.exr'" "$T/out" || fail "ls: ESC as \$'\\033'"
grep -qF "'names/f127'\$'\\177''x.exr'" "$T/out" || fail "ls: DEL as \$'\\177'"
[ "$(grep -c . "$T/out")" -eq 37 ] || fail "ls: one line per name, 37"
tty "$FERRY" ls names
clean "$T/tty" tty
grep -qF "$EVIL" "$T/tty" || fail "ls on a terminal"
expect_rc 1 "$FERRY" ls "names/$(printf 'no\033such')"
clean "$T/err"
expect_err "cannot list 'names/no'\$'\\033''such'"
pass "ls: names quoted on a pipe and on a terminal"

expect_rc 2 "$FERRY" check names "$(printf 'gone\r.exr')"
clean "$T/out"
clean "$T/err"
grep -qF "$EVIL: not an EXR file" "$T/out" || fail "check: $(cat -v "$T/out" | head)"
tty "$FERRY" check names
clean "$T/tty" tty
grep -qF "$EVIL" "$T/tty" || fail "check on a terminal"
pass "check: names quoted"

# A copy on a terminal: its progress bar names each file; then a second copy
# of changed sources fails each file with a message that names it.
mkdir copy1
tty "$FERRY" copy --bwlimit 4M names copy1
clean "$T/tty" tty
grep -q "% \\[" "$T/tty" || { cat -v "$T/tty" | head -c 2000; fail "copy: no progress bar drawn"; }
grep -q "copied 37 files" "$T/tty" || fail "copy: $(cat -v "$T/tty" | tail -3)"
python3 -c 'import os; [open(b"names/"+n, "ab").write(b"more") for n in os.listdir(b"names")]'
expect_rc 1 "$FERRY" copy names copy1
clean "$T/err"
grep -qF "$TAIL" "$T/err" || fail "copy: the failed file named, quoted: $(cat -v "$T/err" | head -3)"
tty "$FERRY" copy names copy1
clean "$T/tty" tty
grep -qF "$TAIL" "$T/tty" || fail "copy on a terminal: errors quoted"
pass "copy: progress bar and errors quote names"

expect_rc 0 "$FERRY" copy -q names/f001* "$(printf 'dest\033[31m')"
expect_rc 0 "$FERRY" jobs
clean "$T/out"
# The journal keeps the absolute path: '/tmp/.../dest'$'\033''[31m'.
grep -qF "/dest'\$'\\033''[31m'" "$T/out" || fail "jobs: DEST quoted: $(cat -v "$T/out")"
pass "jobs: destinations quoted"

# --json: exact names (JSON escapes), not shell quoting.
expect_rc 0 "$FERRY" ls --json names
python3 -c '
import json, sys
names = {e["path"] for e in json.load(open(sys.argv[1]))}
assert "names/evil\nname\rwith\x1b[31mred.exr" in names, names
' "$T/out" || fail "ls --json: the exact name"
pass "--json keeps the exact names"
