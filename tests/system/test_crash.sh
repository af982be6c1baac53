# kill -9 at random moments while ferry copies, CRASH_ROUNDS times (default
# 200; bench/soak.sh runs 1,000): after each kill, `ferry jobs` opens the
# journal (recovering it), every job is terminal or interrupted, every file
# under a final name is complete and identical to its source, and after the
# recovery sweep no temp file remains. Every fourth round resumes the job
# and checks that it completes.
. "$(dirname "$0")/lib.sh"

ROUNDS=${CRASH_ROUNDS:-200}
mkdir -p src/frames
for i in $(seq 1001 1040); do head -c 65536 /dev/urandom >"src/frames/sh010.$i.exr"; done
head -c $((8 << 20)) /dev/urandom >src/plate.bin
ln -s plate.bin src/link

kills=0; resumed=0; files_seen=0
for r in $(seq 1 "$ROUNDS"); do
    dest="$T/d$r"
    mode=""; fs=""
    [ $((r % 2)) -eq 0 ] && mode=--temp-names
    [ $((r % 3)) -eq 0 ] && fs=--no-fsync
    "$FERRY" copy -q $mode $fs --bwlimit 40M src "$dest" >/dev/null 2>&1 &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 300)))"
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null || true

    "$FERRY" jobs --json >"$T/jobs.json" 2>"$T/jobs.err" || { cat "$T/jobs.err"; fail "round $r: the journal does not open"; }
    python3 - "$T/jobs.json" <<'PY' || fail "round $r: a job is neither terminal nor interrupted"
import json, sys
for j in json.load(open(sys.argv[1])):
    assert j["state"] in ("done", "failed", "cancelled", "interrupted"), j
PY
    if [ -d "$dest" ]; then
        while IFS= read -r -d '' f; do
            rel=${f#"$dest"/}
            case "$rel" in *.ferry-tmp-*) fail "round $r: temp left after recovery: $rel" ;; esac
            if [ -L "$f" ]; then
                [ "$(readlink "$f")" = plate.bin ] || fail "round $r: wrong symlink $rel"
            elif [ -f "$f" ]; then
                cmp -s "$f" "src/$rel" || fail "round $r: partial or wrong file under its final name: $rel"
                files_seen=$((files_seen + 1))
            fi
        done < <(find "$dest" -mindepth 1 -print0)
    fi
    if [ $((r % 4)) -eq 0 ]; then
        # This round's job, if it lived long enough to be journalled.
        id=$(python3 -c 'import json,sys; j=[x for x in json.load(open(sys.argv[1])) if x["state"]=="interrupted" and x["dest"]==sys.argv[2]]; print(j[0]["id"] if j else "")' "$T/jobs.json" "$dest")
        if [ -n "$id" ]; then
            "$FERRY" resume -q "$id" >/dev/null 2>&1 || fail "round $r: resume $id failed"
            diff -r --no-dereference src "$dest" >/dev/null || fail "round $r: resume did not complete the copy"
            resumed=$((resumed + 1))
        fi
    fi
done
no_temps "$T"
echo "# $ROUNDS rounds, $kills kills, $files_seen complete files checked, $resumed resumes; 0 partial, 0 temps"
pass "kill -9 at random moments: nothing partial, journal opens, temps swept, resume completes"
