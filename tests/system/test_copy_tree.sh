# ferry copy of trees: contents, modes, mtimes, symlinks; cp -r placement;
# conflicts; bad input gets one clear line and nothing is lost.
. "$(dirname "$0")/lib.sh"

mk_tree() {
    mkdir -p "$1/plates/sub/deeper" "$1/empty"
    head -c 3000000 /dev/urandom >"$1/plates/big.bin"
    head -c 1 /dev/urandom >"$1/plates/one"
    : >"$1/plates/zero"
    for i in $(seq 1001 1020); do head -c 4096 /dev/urandom >"$1/plates/sub/f.$i.exr"; done
    echo deep >"$1/plates/sub/deeper/note.txt"
    ln -s big.bin "$1/plates/link"
    ln -s /nonexistent/target "$1/plates/dangling"
    chmod 640 "$1/plates/one"; chmod 755 "$1/plates/sub"; chmod 700 "$1/plates/sub/deeper"
    touch -d '2020-01-02 03:04:05.123456789' "$1/plates/big.bin" "$1/plates/sub"
    touch -h -d '2019-05-05 05:05:05' "$1/plates/link"
}
mk_tree src

for mode in "" "--no-fsync" "--temp-names" "-j 1" "-j 8"; do
    rm -rf dst; mkdir dst
    expect_rc 0 "$FERRY" copy $mode src/plates dst/
    same_tree src/plates dst/plates
    no_temps dst
done
pass "tree copied byte for byte with modes, mtimes and symlinks (default, --no-fsync, --temp-names, -j)"

# Placement as cp -r: DEST missing -> the source takes the name DEST.
expect_rc 0 "$FERRY" copy src/plates renamed
same_tree src/plates renamed
expect_rc 0 "$FERRY" copy src/plates/one src/plates/zero dst/
cmp src/plates/one dst/one && [ -f dst/zero ] || fail "several files into a directory"
expect_rc 0 "$FERRY" copy src/plates/one single.copy
cmp src/plates/one single.copy || fail "a file to a new name"
pass "placement as cp -r"

# Identical files are skipped; others follow --on-conflict.
expect_rc 0 "$FERRY" copy src/plates dst/
grep -q "skipped" "$T/err" || fail "identical files reported as skipped"
echo changed >src/plates/one.new; cp -p src/plates/one.new dst/plates/one.new
echo "different content" >dst/plates/one.new
touch -d '2001-01-01' dst/plates/one.new
expect_rc 1 "$FERRY" copy src/plates/one.new dst/plates/
expect_err "exists"
grep -q "different content" dst/plates/one.new || fail "fail policy must keep the old file"
expect_rc 0 "$FERRY" copy --on-conflict skip src/plates/one.new dst/plates/
grep -q "different content" dst/plates/one.new || fail "skip policy must keep the old file"
expect_rc 0 "$FERRY" copy --on-conflict rename src/plates/one.new dst/plates/
cmp src/plates/one.new "dst/plates/one (1).new" || fail "rename policy writes 'one (1).new'"
expect_rc 0 "$FERRY" copy --on-conflict overwrite src/plates/one.new dst/plates/
cmp src/plates/one.new dst/plates/one.new || fail "overwrite policy replaces the file"
no_temps dst
pass "conflicts: identical skipped; fail, skip, rename, overwrite"

# Bad input: one clear line naming the path and the cause.
expect_rc 1 "$FERRY" copy src/nope dst/
expect_err "src/nope"
expect_err "No such file or directory"
expect_rc 1 "$FERRY" copy src/nope src/plates/one dst2/
expect_err "not a directory"
expect_rc 1 "$FERRY" copy src/plates src/plates/sub/
expect_err "into itself"
[ ! -e src/plates/sub/plates ] || fail "nothing may be created inside the source"
expect_rc 1 "$FERRY" copy src/plates/one no/such/dir/x
expect_err "does not exist"
# A missing source among good ones: the others are copied, exit 1.
rm -rf dst3; mkdir dst3
expect_rc 1 "$FERRY" copy src/plates/one src/missing src/plates/zero dst3/
expect_err "src/missing"
[ -f dst3/one ] && [ -f dst3/zero ] || fail "the good sources are still copied"
# Unwritable destination (not as root: root writes anywhere).
if [ "$(id -u)" -ne 0 ]; then
    mkdir ro; chmod 555 ro
    expect_rc 1 "$FERRY" copy src/plates/one ro/
    expect_err "Permission denied"
fi
pass "bad input gets a clear error and nothing is lost"

# A trailing slash on a new destination, as cp -r: the directory is copied
# to that name. A file to a "dir/" that does not exist is refused (cp too),
# and creates nothing.
expect_rc 0 "$FERRY" copy src/plates brand_new/
same_tree src/plates brand_new
expect_rc 0 "$FERRY" copy src/plates brand_new2//
same_tree src/plates brand_new2
expect_rc 1 "$FERRY" copy src/plates/one newfile/
expect_err "is not a directory (it does not exist)"
expect_rc 1 "$FERRY" copy src/plates newdir/deeper/
expect_err "does not exist"
[ ! -e newfile ] && [ ! -e newdir ] || fail "a refused copy creates nothing"
pass "a trailing slash on a new destination"

# Special files are skipped with a warning.
mkfifo src/fifo
expect_rc 0 "$FERRY" copy src/fifo dst/
expect_err "special file"
[ ! -e dst/fifo ] || fail "a fifo is not copied"
pass "special files skipped with a warning"
