# ferry submit, cancel and watch against a real daemon: options after operands,
# a cancel that matches nothing exits 1 (as pkill), and watch with several jobs:
# one labelled line per job, each end printed once with copy's summary line,
# redrawn in place on a terminal (run under script(1)), plain lines on a pipe.
. "$(dirname "$0")/lib.sh"

SD="$T/sd"
mkdir -p root/src root/dst
for i in 1 2 3 4; do
    mkdir -p "root/src/s$i"
    head -c 8M /dev/urandom >"root/src/s$i/plate.exr"
done
"$FERRY" serve --listen 127.0.0.1:0 --root "$T/root" --state-dir "$SD" 2>"$T/serve.err" &
serve_pid=$!
cleanup_hooks+=("kill $serve_pid")
for _ in $(seq 100); do
    grep -q 'serving http' "$T/serve.err" && break
    sleep 0.1
done
grep -q 'serving http' "$T/serve.err" || fail "the daemon did not start: $(cat "$T/serve.err")"

# Options after the operands (getopt permutes, as in cp and rsync).
ids=()
for i in 1 2 3 4; do
    expect_rc 0 "$FERRY" submit "root/src/s$i" "root/dst/d$i" --bwlimit 1M --tag "t$i" --state-dir "$SD"
    ids+=("$(cat "$T/out")")
done
pass "submit SOURCE DEST --bwlimit --tag --state-dir"

# Nothing matched: exit 1, as pkill does; an unknown id too.
expect_rc 1 "$FERRY" cancel --tag typo --state-dir "$SD"
expect_err "nothing to cancel"
expect_rc 1 "$FERRY" cancel --state-dir "$SD" -- -nosuchjob
expect_err "404"
pass "cancel --tag matching nothing exits 1; '--' ends the options"

# Two watchers of every job: on a pipe, and on a terminal.
"$FERRY" watch --state-dir "$SD" >"$T/pipe.out" 2>&1 &
pipe_pid=$!
script -qfec "$FERRY watch --state-dir '$SD'" /dev/null >"$T/tty.out" 2>&1 &
tty_pid=$!
cleanup_hooks+=("kill $pipe_pid $tty_pid")
sleep 1.5
expect_rc 0 "$FERRY" cancel --tag t2 --state-dir "$SD"
sleep 0.5
expect_rc 0 "$FERRY" cancel --all --state-dir "$SD"
sleep 1.5
kill "$pipe_pid" "$tty_pid" 2>/dev/null || true
wait "$pipe_pid" "$tty_pid" 2>/dev/null || true

for f in pipe tty; do
    # the terminal's redraw (cursor up, erase) taken out, to read its lines
    tr -d '\r' <"$T/$f.out" | sed 's/\x1b\[[0-9]*[AJK]//g' >"$T/$f.txt"
    for id in "${ids[@]}"; do
        n=$(grep -c "^$id cancelled" "$T/$f.txt" || true)
        [ "$n" -eq 1 ] || { cat -v "$T/$f.txt" | tail -40; fail "$f: the end of $id printed $n times"; }
        grep -q "^$id  t[1-4] .*% \[" "$T/$f.txt" ||
            { cat -v "$T/$f.txt" | tail -40; fail "$f: no progress line of its own for $id"; }
    done
    n=$(grep -c "^cancelled: .* files, .*; no partial files left" "$T/$f.txt" || true)
    [ "$n" -eq 4 ] || { cat -v "$T/$f.txt" | tail -40; fail "$f: $n summary lines, want 4"; }
done
grep -q $'\033\\[[0-9]*A' "$T/tty.out" || fail "tty: the lines are not redrawn in place"
if grep -q $'\033' "$T/pipe.out"; then fail "pipe: escape sequences on a pipe"; fi
pass "watch: one line per job, each end once with its summary (pipe and terminal)"

# watch ID ends with that summary line and copy's exit status.
expect_rc 0 "$FERRY" submit root/src/s1 root/dst/w1 --bwlimit 1M --state-dir "$SD"
id=$(cat "$T/out")
"$FERRY" watch "$id" --state-dir "$SD" >"$T/w.out" 2>"$T/w.err" &
wpid=$!
sleep 1
expect_rc 0 "$FERRY" cancel "$id" --state-dir "$SD"
rc=0; wait "$wpid" || rc=$?
[ "$rc" -eq 130 ] || fail "watch ID of a cancelled job exited $rc, want 130"
grep -q "^$id cancelled" "$T/w.out" || fail "watch ID: no end line: $(cat "$T/w.out")"
tail -1 "$T/w.err" | grep -q "^cancelled: [0-9]* of 1 files, .*; no partial files left$" ||
    fail "watch ID: no summary line: $(cat "$T/w.err")"
pass "watch ID ends with the summary line and exit 130"

# A sequence handed over: --renumber numbers the copies consecutively;
# --keep-step keeps the frames' step (as ferry copy and the API).
mkdir -p root/src/sh010
for f in $(seq 1001 1008); do printf 'frame %s\n' "$f" >"root/src/sh010/comp.$f.exr"; done
wait_done() { # ID: until the job is done (or 10 s)
    for _ in $(seq 100); do
        "$FERRY" jobs --state-dir "$SD" >"$T/jobs.out" 2>/dev/null
        grep -q "^$1 *done" "$T/jobs.out" && return 0
        sleep 0.1
    done
    fail "job $1 did not finish: $(cat "$T/jobs.out")"
}
expect_rc 0 "$FERRY" submit 'root/src/sh010/comp.####.exr' root/dst/dailies --frames 1001-1007x2 --renumber 1 --pad 3 --state-dir "$SD"
wait_done "$(cat "$T/out")"
[ "$(ls root/dst/dailies | tr '\n' ' ')" = "comp.001.exr comp.002.exr comp.003.exr comp.004.exr " ] ||
    fail "submit --renumber: $(ls root/dst/dailies)"
expect_rc 0 "$FERRY" submit 'root/src/sh010/comp.####.exr' root/dst/step --frames 1001-1007x2 --renumber 1 --pad 3 --keep-step --state-dir "$SD"
wait_done "$(cat "$T/out")"
[ "$(ls root/dst/step | tr '\n' ' ')" = "comp.001.exr comp.003.exr comp.005.exr comp.007.exr " ] ||
    fail "submit --keep-step: $(ls root/dst/step)"
expect_rc 2 "$FERRY" submit 'root/src/sh010/comp.####.exr' root/dst/x --keep-step --state-dir "$SD"
pass "submit --renumber numbers consecutively, --keep-step keeps the step"
