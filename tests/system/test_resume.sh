# ferry resume from anywhere: a job started with relative paths keeps
# absolute ones in the journal, so `cd elsewhere && ferry resume ID`
# completes it. A resume that cannot start (a source gone, the destination
# not there: a disk not mounted) says why, exits 1 and leaves the job as it
# was, resumable once the cause is gone.
. "$(dirname "$0")/lib.sh"

mkdir -p demo/shots/sh010 dst
for i in $(seq 1001 1030); do head -c 200000 /dev/urandom >"demo/shots/sh010/comp.$i.exr"; done

# Starts a copy with relative paths, cancels it after the first committed
# frame; prints the job's id.
cancelled_copy() {
    rm -rf dst; mkdir dst
    "$FERRY" copy --bwlimit 2M demo/shots dst/ >"$T/copy.out" 2>"$T/copy.err" &
    local pid=$! rc=0
    for _ in $(seq 200); do
        ls dst/shots/sh010 2>/dev/null | grep -qv '^\.ferry-tmp-' && break
        sleep 0.05
    done
    kill -INT "$pid"
    wait "$pid" || rc=$?
    [ "$rc" -eq 130 ] || { cat "$T/copy.err"; fail "the copy was not cancelled (exit $rc)"; }
    "$FERRY" jobs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])'
}

state_of() {
    "$FERRY" jobs --json | python3 -c 'import json,sys; print([j["state"] for j in json.load(sys.stdin) if j["id"]==sys.argv[1]][0])' "$1"
}

id=$(cancelled_copy)
expect_rc 0 bash -c "cd /tmp && '$FERRY' resume '$id'"
same_tree demo/shots dst/shots
[ "$(state_of "$id")" = done ] || fail "the resumed job is done"
pass "a job with relative paths resumes from another directory"

# A source gone: refused, the job stays cancelled, and resumes later.
id=$(cancelled_copy)
mv demo demo.away
expect_rc 1 bash -c "cd /tmp && '$FERRY' resume '$id'"
expect_err "cannot resume job $id"
expect_err "demo/shots"
expect_err "No such file or directory"
[ "$(state_of "$id")" = cancelled ] || fail "a resume that cannot start leaves the job cancelled"
mv demo.away demo
# The destination not there (a disk not mounted): the same.
mv dst dst.away
expect_rc 1 "$FERRY" resume "$id"
expect_err "destination directory"
[ "$(state_of "$id")" = cancelled ] || fail "a resume that cannot start leaves the job cancelled"
mv dst.away dst
expect_rc 0 "$FERRY" resume "$id"
same_tree demo/shots dst/shots
pass "a resume that cannot start says why and leaves the job resumable"
