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
