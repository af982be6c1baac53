# Copy semantics that cp and rsync users expect (issue 18, "Copy semantics"):
# holes kept, symlinks in the destination never followed, every directory
# accounted for, SRC/., the same source twice, /proc-like files.
. "$(dirname "$0")/lib.sh"

# --- A sparse source keeps its holes (start, middle, end), on the
# copy_file_range path (same filesystem) and the read/write one (into tmpfs,
# where copy_file_range answers EXDEV).
mkdir sp
truncate -s 64M sp/plate
dd if=/dev/urandom of=sp/plate bs=1M seek=16 count=4 conv=notrunc status=none
dd if=/dev/urandom of=sp/plate bs=1M seek=40 count=4 conv=notrunc status=none
src_blocks=$(stat -c %b sp/plate)
shm=$(mktemp -d /dev/shm/ferry-systest.XXXXXX)
cleanup_hooks+=("rm -rf '$shm'")
for dest in "$T/sparse-out" "$shm"; do
    mkdir -p "$dest"
    expect_rc 0 "$FERRY" copy sp/plate "$dest/"
    cmp sp/plate "$dest/plate" || fail "sparse copy into $dest differs"
    [ "$(stat -c %s "$dest/plate")" = 67108864 ] || fail "sparse copy into $dest lost its size"
    b=$(stat -c %b "$dest/plate")
    # 8 MiB of data is 16384 blocks; a dense copy would be 131072.
    [ "$b" -le $((src_blocks + 2048)) ] ||
        fail "sparse copy into $dest takes $b blocks, its source $src_blocks"
done
# A file that is one hole, and a dense one beside it, still right.
truncate -s 5M sp/allhole
head -c 3000000 /dev/urandom >sp/dense
expect_rc 0 "$FERRY" copy sp/allhole sp/dense "$shm/"
cmp sp/allhole "$shm/allhole" && cmp sp/dense "$shm/dense" || fail "all-hole or dense file differs"
[ "$(stat -c %b "$shm/allhole")" -le 8 ] || fail "an all-hole file was written dense"
pass "sparse files keep their holes (copy_file_range and read/write)"

# --- A symlink already in the destination is never followed out of it; it is
# a conflict that --on-conflict settles (fail, skip, overwrite as rsync,
# rename as for files).
mk_linked() {
    rm -rf ls; mkdir -p ls/src/sub/deeper ls/dest ls/outside
    echo f >ls/src/sub/f; echo g >ls/src/sub/deeper/g
    ln -s ../outside ls/dest/sub
}
mk_linked
expect_rc 1 "$FERRY" copy ls/src/sub ls/dest/
expect_err "cannot overwrite non-directory 'ls/dest/sub' with directory 'ls/src/sub'"
expect_err "symlink to '../outside', not followed"
[ -z "$(ls -A ls/outside)" ] || fail "a copy wrote through a symlink in the destination: $(ls -A ls/outside)"
[ -L ls/dest/sub ] || fail "the link must stay (default policy)"
expect_rc 0 "$FERRY" copy --on-conflict skip ls/src/sub ls/dest/
[ -z "$(ls -A ls/outside)" ] && [ -L ls/dest/sub ] || fail "skip: link and outside left as they are"
grep -q "skipped" "$T/err" || fail "skip: reported as skipped"
expect_rc 0 "$FERRY" copy --on-conflict rename ls/src/sub ls/dest/
[ -z "$(ls -A ls/outside)" ] && [ -L ls/dest/sub ] || fail "rename: link and outside left as they are"
same_tree ls/src/sub "ls/dest/sub (1)"
expect_rc 0 "$FERRY" copy --on-conflict overwrite ls/src/sub ls/dest/
[ -z "$(ls -A ls/outside)" ] || fail "overwrite wrote through the link"
[ -d ls/dest/sub ] && [ ! -L ls/dest/sub ] || fail "overwrite: the link is replaced by a directory"
same_tree ls/src/sub ls/dest/sub
# Deeper: a real directory holding a link where a subdirectory goes.
mk_linked; rm ls/dest/sub; mkdir ls/dest/sub; ln -s ../../outside ls/dest/sub/deeper
expect_rc 1 "$FERRY" copy ls/src/sub ls/dest/
expect_err "cannot overwrite non-directory 'ls/dest/sub/deeper' with directory 'ls/src/sub/deeper'"
[ -z "$(ls -A ls/outside)" ] || fail "a copy wrote through a deeper link: $(ls -A ls/outside)"
cmp ls/src/sub/f ls/dest/sub/f || fail "the rest of the tree is copied"
pass "symlinks in the destination are not followed; --on-conflict decides"

# --- Every directory gets a result, even with nothing in it (cp exits 1,
# "cannot overwrite non-directory").
rm -rf nd; mkdir -p nd/dir nd/src/t/empty nd/src/t/full nd/dest/t nd/ro
echo x >nd/file
expect_rc 1 "$FERRY" copy nd/dir nd/file
expect_err "cannot overwrite non-directory 'nd/file' with directory 'nd/dir'"
[ "$(cat nd/file)" = x ] || fail "the file in the way is kept"
echo a >nd/src/t/full/a; echo no >nd/dest/t/empty
expect_rc 1 "$FERRY" copy nd/src/t nd/dest/
expect_err "cannot overwrite non-directory 'nd/dest/t/empty' with directory 'nd/src/t/empty'"
expect_err "1 failed"
cmp nd/src/t/full/a nd/dest/t/full/a || fail "the other directory is copied"
mkdir nd/src/empty2; chmod 555 nd/ro; chmod 755 "$T" nd nd/src nd/src/empty2
expect_rc 1 setpriv --reuid=nobody --regid=nogroup --clear-groups env XDG_STATE_HOME=/nonexistent \
    "$FERRY" copy nd/src/empty2 nd/ro/
expect_err "create directory 'nd/ro/empty2': Permission denied"
pass "a directory that cannot be made is a failure, even when empty"

# --- SRC/. (and SRC/./, and .): the contents of SRC, dotfiles included, into
# DEST itself, as cp -r; DEST may be a symlink to a directory, as given.
rm -rf dot; mkdir -p dot/x/sub dot/y dot/y2
echo a >dot/x/a; echo h >dot/x/.hidden; echo s >dot/x/sub/s
ln -s y2 dot/ylink
expect_rc 0 "$FERRY" copy dot/x/. dot/y
same_tree dot/x dot/y
expect_rc 0 "$FERRY" copy dot/x/./ dot/ylink
same_tree dot/x dot/y2
expect_rc 0 "$FERRY" copy dot/x/. dot/newy
same_tree dot/x dot/newy
mkdir dot/z
(cd dot/x && "$FERRY" copy . ../z) >/dev/null 2>&1 || fail "'ferry copy . ../z' from inside x"
same_tree dot/x dot/z
expect_rc 1 "$FERRY" copy dot/x/. dot/x/sub
expect_err "into itself"
pass "SRC/. copies the contents of SRC into DEST"

# --- The same source twice (same device and inode, same destination) is
# copied once with a warning, exit 0, as cp ("specified more than once").
rm -rf twice; mkdir -p twice/tree/s twice/d twice/e
echo a >twice/a; echo t >twice/tree/s/t
(cd twice && expect_rc 0 "$FERRY" copy a ./a d/)
expect_err "'./a': specified more than once"
cmp twice/a twice/d/a || fail "a copied once"
(cd twice && expect_rc 0 "$FERRY" copy tree/ tree ./tree e/)
expect_err "'./tree': specified more than once"
grep -q "failed\|appeared" "$T/err" && fail "a repeated source must not fail: $(cat "$T/err")"
same_tree twice/tree twice/e/tree
pass "a source given twice is copied once, with a warning"

# --- A file that reports size 0 but has content on read (/proc): the cause
# says so, not "source changed during copy"; nothing is left behind.
rm -rf procd; mkdir procd
expect_rc 1 "$FERRY" copy /proc/self/status procd/
expect_err "size changed while reading '/proc/self/status': the file reports size 0, like those in /proc"
grep -q "source changed during copy" "$T/err" && fail "misleading cause: $(cat "$T/err")"
[ -z "$(ls -A procd)" ] || fail "nothing is left of a refused /proc file"
pass "/proc-like files: the cause says what happened"
