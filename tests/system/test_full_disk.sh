# A full destination: 48 frames of 800 KB into a 5 MB filesystem. The frames
# complete when the disk fills are named (as cp would have left them), each
# identical to its source; the first file that met the full disk fails with
# the cause, said once; the rest are not attempted; the summary, `ferry jobs`
# and its JSON account for every file.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "ok - skipped: mounting a tmpfs needs root"; exit 0; }

mkdir src mnt
for i in $(seq 1001 1048); do head -c 800000 /dev/urandom >"src/f.$i.exr"; done
mount -t tmpfs -o size=5m tmpfs mnt
cleanup_hooks+=("umount '$T/mnt'")

expect_rc 1 "$FERRY" copy src mnt/
n=$(find mnt -type f | wc -l)
for f in mnt/src/*; do
    [ -e "$f" ] || continue
    cmp -s "$f" "src/$(basename "$f")" || fail "partial or wrong file under its final name: $f"
done
[ "$n" -ge 4 ] || { cat "$T/err"; fail "the frames complete when the disk filled are kept: $n on disk"; }
no_temps mnt
[ "$(grep -c 'No space left on device' "$T/err")" -eq 2 ] ||
    { cat "$T/err"; fail "the cause is said once (one file's line, and the summary)"; }
expect_err "$n of 48 files copied"
expect_err "1 failed; $((47 - n)) not attempted"

"$FERRY" jobs --json >"$T/jobs.json"
python3 - "$T/jobs.json" "$n" <<'PY' || fail "ferry jobs --json accounts for every file"
import json, sys
j = json.load(open(sys.argv[1]))[0]
n = int(sys.argv[2])
assert j["state"] == "failed", j
assert j["files_done"] == n and j["files_failed"] == 1 and j["files_not_attempted"] == 47 - n, j
assert j["files_done"] + j["files_skipped"] + j["files_failed"] + j["files_not_attempted"] == 48, j
assert j["bytes_copied"] == n * 800000 and j["bytes_skipped"] == 0, j
assert "No space left on device" in j["error"], j
PY
"$FERRY" jobs >"$T/out"
grep -q "failed .* $n/48 " "$T/out" || { cat "$T/out"; fail "ferry jobs: $n/48"; }
pass "full disk: $n complete frames named, 1 failed with the cause, $((47 - n)) not attempted"
