# Faults with real files: a full disk, a source that changes while it is read,
# and temps left behind by a crashed run.
. "$(dirname "$0")/lib.sh"

# Disk full: a 4 MiB tmpfs; the file is discarded, the job says why and stops.
if [ "$(id -u)" -eq 0 ] && mkdir small && mount -t tmpfs -o size=4m tmpfs small 2>/dev/null; then
    cleanup_hooks+=("umount '$T/small'")
    head -c 8000000 /dev/urandom >big
    echo small >tiny
    expect_rc 1 "$FERRY" copy big small/
    expect_err "No space left on device"
    expect_err "big"
    [ ! -e small/big ] || fail "no partial file after ENOSPC"
    no_temps small
    [ "$(df --output=used -k small | tail -1)" -lt 100 ] || fail "the discarded file's blocks were freed"
    expect_rc 0 "$FERRY" copy tiny small/
    cmp tiny small/tiny || fail "the disk works again after the failed copy"
    pass "disk full: clean failure naming the cause, nothing partial"
else
    echo "# skipped disk-full case: needs root to mount a tmpfs"
fi

# Source modified during the copy: not committed, reported.
head -c 50000000 /dev/urandom >moving
mkdir dst
"$FERRY" copy --bwlimit 50M moving dst/ >"$T/out" 2>"$T/err" &
pid=$!
sleep 0.4
echo "appended while being copied" >>moving
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 1 ] || { cat "$T/err"; fail "changed source: exit $rc, expected 1"; }
grep -q "source changed during copy" "$T/err" || { cat "$T/err"; fail "cause named"; }
[ ! -e dst/moving ] || fail "a changed source is not committed"
no_temps dst
pass "source changed during copy: not committed"

# Temps of a crashed writer (named path) are swept; a live writer's are kept.
mkdir -p crash
echo junk >crash/.ferry-tmp-0123456789abcdef
echo ok >good
expect_rc 0 "$FERRY" copy good crash/
[ ! -e crash/.ferry-tmp-0123456789abcdef ] || fail "a dead writer's temp is swept"
cmp good crash/good || fail "copy after sweep"
pass "temps left by a crash are swept"

# kill -9 mid-copy: nothing partial under a final name, in either temp mode.
for mode in "" --temp-names; do
    rm -rf k; mkdir k
    "$FERRY" copy $mode --bwlimit 100M moving k/ >/dev/null 2>&1 &
    pid=$!
    sleep 0.2
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    [ ! -e k/moving ] || fail "kill -9 ($mode): no file under the final name"
    "$FERRY" copy good k/ >/dev/null 2>&1 || fail "copy into k after kill -9"
    no_temps k
done
pass "kill -9 mid-file leaves no partial file; the next run sweeps named temps"
