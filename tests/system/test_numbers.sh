# The numbers a copy reports count only what moved: after a resume, the
# bytes copied are those of the files copied, skipped ones are counted
# apart; a re-run of identical files copies 0 B at 0 B/s. After kill -9,
# the interrupted job's count is that of its committed files.
. "$(dirname "$0")/lib.sh"

mkdir -p src dst
for i in $(seq 1001 1030); do head -c 200000 /dev/urandom >"src/f.$i.exr"; done

job_json() { "$FERRY" jobs --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0]))'; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# A copy cancelled after a few frames, then resumed.
"$FERRY" copy --bwlimit 2M src dst/ >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 200); do
    [ "$(ls dst/src 2>/dev/null | grep -vc '^\.ferry-tmp-')" -ge 3 ] && break
    sleep 0.05
done
kill -INT "$pid"; wait "$pid" || true
id=$(field "$(job_json)" id)
expect_rc 0 "$FERRY" resume "$id"
j=$(job_json)
done_=$(field "$j" files_done); skipped=$(field "$j" files_skipped)
[ "$skipped" -ge 3 ] && [ $((done_ + skipped)) -eq 30 ] || fail "resume: $done_ copied + $skipped skipped"
[ "$(field "$j" bytes_copied)" -eq $((done_ * 200000)) ] || fail "bytes_copied counts the copied files only: $j"
[ "$(field "$j" bytes_skipped)" -eq $((skipped * 200000)) ] || fail "bytes_skipped: $j"
grep -q "^copied $done_ files (.*; $skipped skipped (" "$T/err" || { cat "$T/err"; fail "the summary"; }
pass "resume: copied and skipped bytes apart"

# A re-run of identical files: nothing moved.
expect_rc 0 "$FERRY" copy src dst/
expect_err "copied 0 files (0 B) in"
expect_err ", 0 B/s; 30 skipped (5.7 MiB)"
j=$(job_json)
[ "$(field "$j" bytes_copied)" -eq 0 ] && [ "$(field "$j" bytes_skipped)" -eq 6000000 ] || fail "re-run: $j"
pass "a re-run of identical files: 0 B copied at 0 B/s, 30 skipped"

# kill -9 once some frames are committed and journalled.
rm -rf dst; mkdir dst
"$FERRY" copy --bwlimit 2M src dst/ >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
    [ "$(ls dst/src 2>/dev/null | grep -vc '^\.ferry-tmp-')" -ge 5 ] && break
    sleep 0.05
done
k=$(ls dst/src | grep -vc '^\.ferry-tmp-')
sleep 0.5 # the results reach the journal within ~100 ms
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
on_disk=$(find dst/src -name 'f.*.exr' | wc -l)
j=$(job_json)
[ "$(field "$j" state)" = interrupted ] || fail "the job is interrupted: $j"
n=$(field "$j" files_done)
[ "$n" -ge "$k" ] && [ "$n" -le "$on_disk" ] || fail "interrupted: files_done $n, $k..$on_disk committed: $j"
[ "$(field "$j" bytes_copied)" -eq $((n * 200000)) ] || fail "interrupted: bytes of its committed files: $j"
[ "$(field "$j" files_total)" -eq 30 ] || fail "interrupted: its total: $j"
"$FERRY" jobs >"$T/out"
grep -q "interrupted .* $n/30 " "$T/out" || { cat "$T/out"; fail "ferry jobs: $n/30"; }
pass "kill -9: the interrupted job counts its $n committed files"
