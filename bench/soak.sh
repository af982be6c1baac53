#!/usr/bin/env bash
# bench/soak.sh [KILLS]: the kill -9 soak. Copies are killed at random moments
# until KILLS (default 1,000) kill -9s have landed on a live ferry process;
# tests/system/test_crash.sh is the short version that `make test` runs.
#
# Rounds turn between three jobs, each a directory copied whole:
#   small  1,000 x 4 KiB in 10 directories, an empty file and a symlink
#   big    one 64 MiB file of random bytes (64 chunks of 1 MiB)
#   seq    120 frames x 256 KiB named like an EXR sequence; copied as a
#          pattern source (sh020_comp_v001.####.exr) when the binary takes
#          them (`ferry copy --frames`), as their directory otherwise
# and, within each kind, between O_TMPFILE and --temp-names, durable and
# --no-fsync, --bwlimit (the kill then falls in a copy of about 0.6 s) and
# none. After each kill:
#   - `ferry jobs --json` opens the journal (recovery and the sweep of the
#     interrupted job's temps): it must exit 0 without a notice that the
#     journal was unreadable or disabled, list no fewer jobs than before, and
#     every job must be terminal or interrupted;
#   - every file under a final name in the destination must be identical to
#     its source (a missing file is fine, a partial or wrong one is a loss),
#     and no .ferry-tmp-* name may remain (the ones seen before the sweep are
#     counted);
#   - every second round resumes the job (restart). Every fourth round kills
#     the resume too, checks again and resumes once more; a resume that
#     exits must leave a destination identical to the source and the job
#     `done`. Every tenth round also kills `ferry jobs` itself during
#     recovery, then opens the journal again.
# A loss keeps its destination, journal listing and output in
# $FERRY_BENCH_DIR/soak-failures/ and the soak goes on; it exits 1 at the end.
# The binary ($FERRY, default build/ferry) is copied first.
set -Eeuo pipefail
trap 'echo "soak.sh: line $LINENO failed (status $?)" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
KILLS=${1:-1000}
bin=$(realpath "${FERRY:-$here/../build/ferry}")
BASE=$(realpath -m "${FERRY_BENCH_DIR:-/var/tmp/ferry-bench}")
mkdir -p "$BASE"
W=$(mktemp -d "$BASE/soak.XXXXXX")
trap 'rm -rf "$W"' EXIT
cp "$bin" "$W/ferry"
F=$W/ferry
export XDG_STATE_HOME=$W/state
FAILS=$BASE/soak-failures

# --- sources ------------------------------------------------------------------
S=$W/src
python3 - "$S" <<'PY'
import os, sys
s = sys.argv[1]
for d in range(10):
    os.makedirs(f"{s}/small/d{d}")
    for i in range(100):
        with open(f"{s}/small/d{d}/f{i:03d}.dpx", "wb") as f:
            f.write(os.urandom(4096))
open(f"{s}/small/empty", "w").close()
os.symlink("d0/f000.dpx", f"{s}/small/link")
os.makedirs(f"{s}/big")
with open(f"{s}/big/plate.bin", "wb") as f:
    for _ in range(64):
        f.write(os.urandom(1 << 20))
os.makedirs(f"{s}/seq")
for fr in range(1001, 1121):
    with open(f"{s}/seq/sh020_comp_v001.{fr}.exr", "wb") as f:
        f.write(os.urandom(256 << 10))
PY
if "$F" help copy 2>&1 | grep -q -- --frames; then
    seq_source=$S/seq/sh020_comp_v001.####.exr seq_how="pattern source"
else
    seq_source=$S/seq seq_how="directory"
fi

# check.py SRC DEST COMPLETE: compares DEST with SRC; prints one JSON line
# {"files", "wrong": [...], "temps": [...], "missing": n}. COMPLETE=1: every
# source file must be there.
cat >"$W/check.py" <<'PY'
import filecmp, json, os, sys
src, dest, complete = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
out = {"files": 0, "wrong": [], "temps": [], "missing": 0}
seen = set()
if os.path.isdir(dest):
    for root, dirs, files in os.walk(dest):
        for name in dirs + files:
            p = os.path.join(root, name)
            rel = os.path.relpath(p, dest)
            if ".ferry-tmp-" in name:
                out["temps"].append(rel)
                continue
            s = os.path.join(src, rel)
            if os.path.islink(p):
                if not os.path.islink(s) or os.readlink(p) != os.readlink(s):
                    out["wrong"].append(rel + " (symlink)")
            elif os.path.isfile(p):
                if not os.path.isfile(s) or os.path.islink(s):
                    out["wrong"].append(rel + " (no such source)")
                elif os.path.getsize(p) != os.path.getsize(s):
                    out["wrong"].append(f"{rel} ({os.path.getsize(p)} of {os.path.getsize(s)} bytes)")
                elif not filecmp.cmp(p, s, shallow=False):
                    out["wrong"].append(rel + " (same size, different bytes)")
                else:
                    out["files"] += 1
            elif os.path.isdir(p):
                if not os.path.isdir(s):
                    out["wrong"].append(rel + " (no such source directory)")
            else:
                out["wrong"].append(rel + " (special file)")
            seen.add(rel)
if complete:
    for root, dirs, files in os.walk(src):
        for name in dirs + files:
            if os.path.relpath(os.path.join(root, name), src) not in seen:
                out["missing"] += 1
print(json.dumps(out))
PY

# jobs.py JOBS_JSON DEST: checks the states; prints "COUNT ID STATE" of the
# newest job whose dest is DEST (ID "-" when there is none).
cat >"$W/jobs.py" <<'PY'
import json, sys
jobs = json.load(open(sys.argv[1]))
bad = [j for j in jobs if j["state"] not in ("done", "failed", "cancelled", "interrupted")]
if bad:
    sys.exit(f"jobs neither terminal nor interrupted: {bad}")
mine = [j for j in jobs if j["dest"] == sys.argv[2]]
mine.sort(key=lambda j: j["created_at"], reverse=True)
print(len(jobs), mine[0]["id"] if mine else "-", mine[0]["state"] if mine else "-")
PY

# --- the soak -----------------------------------------------------------------
kills=0 copy_kills=0 resume_kills=0 recovery_kills=0 rounds=0 losses=0
resumes=0 resumes_done=0 temps_before=0 temps_after=0 wrong=0 files_checked=0
exited_first=0 no_job=0 njobs=0 journal_opens=0 journal_tries=0
declare -A kind_kills=([small]=0 [big]=0 [seq]=0)
t_start=$(date +%s)

loss() { # loss ROUND WHAT: keeps the evidence (of the first 5 rounds), counts, goes on
    echo "LOSS round $1: $2" >&2
    if ! grep -qx "$1" "$W/loss-rounds" 2>/dev/null; then
        echo "$1" >>"$W/loss-rounds"
        losses=$((losses + 1))
    fi
    if [ "$losses" -le 5 ] && [ ! -e "$keep_round" ]; then
        keep_round=$FAILS/$(date +%s)-r$1
        mkdir -p "$keep_round"
        [ -d "$dest" ] && cp -a "$dest" "$keep_round/dest"
        cp "$W/jobs.json" "$W/out" "$W/err" "$keep_round/" 2>/dev/null || true
        echo "$2" >"$keep_round/what"
    fi
}

# run_killed DELAY_MS CMD...: runs CMD, kill -9 after DELAY_MS; sets $killed
# to 1 when the signal hit a live process (exit by SIGKILL), else 0.
run_killed() {
    local delay=$1; shift
    "$@" >"$W/out" 2>"$W/err" &
    local pid=$! st=0
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || st=$? # (2>: no "Killed" line from bash)
    killed=$((st == 137 ? 1 : 0))
    last_status=$st
}

# open_journal ROUND: ferry jobs --json, with the checks; sets $job $state.
open_journal() {
    local r=$1 n
    journal_tries=$((journal_tries + 1))
    if ! "$F" jobs --json >"$W/jobs.json" 2>"$W/err"; then
        loss "$r" "the journal does not open: $(head -c 300 "$W/err")"
        job=- state=-
        return
    fi
    journal_opens=$((journal_opens + 1))
    if grep -qiE 'unreadable|disabled|corrupt' "$W/err" || compgen -G "$XDG_STATE_HOME/ferry/journal.db.corrupt-*" >/dev/null; then
        loss "$r" "journal notice: $(head -c 300 "$W/err")"
    fi
    local info
    if ! info=$(python3 "$W/jobs.py" "$W/jobs.json" "$dest" 2>&1); then
        loss "$r" "$info"
        job=- state=-
        return
    fi
    read -r n job state <<<"$info"
    if [ "$n" -lt "$njobs" ]; then loss "$r" "the journal lists $n jobs, $njobs before"; fi
    njobs=$n
}

# check_dest ROUND COMPLETE: the destination against its source.
check_dest() {
    local r=$1 complete=$2 res
    res=$(python3 "$W/check.py" "$S/$kind" "$dest" "$complete")
    read -r f w t m < <(python3 -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["files"], len(o["wrong"]), len(o["temps"]), o["missing"])' "$res")
    files_checked=$((files_checked + f))
    # A file stays wrong, a temp stays left, across the checks of a round:
    # each is counted once.
    python3 -c 'import json,sys; o=json.loads(sys.argv[1])
for k in ("wrong", "temps"):
    with open(sys.argv[3] + "/" + k + ".log", "a") as f:
        for x in o[k]: f.write(sys.argv[2] + "/" + x + "\n")' "$res" "$dest" "$W"
    [ "$w" -eq 0 ] || loss "$r" "partial or wrong files under final names: $res"
    [ "$t" -eq 0 ] || loss "$r" "temps after the sweep: $res"
    [ "$complete" = 0 ] || [ "$m" -eq 0 ] || loss "$r" "$m files missing after a completed resume"
}

count_temps() { if [ -d "$dest" ]; then find "$dest" -name '.ferry-tmp-*' | wc -l; else echo 0; fi; }

while [ "$kills" -lt "$KILLS" ]; do
    rounds=$((rounds + 1)); r=$rounds keep_round=/nonexistent
    case $((r % 3)) in 0) kind=small ;; 1) kind=big ;; 2) kind=seq ;; esac
    dest=$W/d$r
    opts=(-q)
    [ $((r / 3 % 2)) -eq 1 ] && opts+=(--temp-names)
    [ $((r / 6 % 2)) -eq 1 ] && opts+=(--no-fsync)
    if [ $((r / 12 % 4)) -eq 3 ]; then
        delay=$((RANDOM % 300))
    else
        case $kind in small) opts+=(--bwlimit 8M) ;; big) opts+=(--bwlimit 100M) ;; seq) opts+=(--bwlimit 50M) ;; esac
        delay=$((RANDOM % 700))
    fi
    src=$S/$kind
    [ "$kind" = seq ] && src=$seq_source

    run_killed "$delay" "$F" copy "${opts[@]}" "$src" "$dest"
    if [ "$killed" = 1 ]; then
        kills=$((kills + 1)) copy_kills=$((copy_kills + 1))
        kind_kills[$kind]=$((kind_kills[$kind] + 1))
    else
        exited_first=$((exited_first + 1))
        [ "$last_status" = 0 ] || loss "$r" "copy exited $last_status: $(head -c 300 "$W/err")"
    fi
    temps_before=$((temps_before + $(count_temps)))

    if [ $((r % 10)) -eq 0 ]; then
        run_killed $((RANDOM % 6)) "$F" jobs --json
        if [ "$killed" = 1 ]; then kills=$((kills + 1)) recovery_kills=$((recovery_kills + 1)); fi
    fi
    open_journal "$r"
    [ "$job" = - ] && no_job=$((no_job + 1))
    if [ "$killed" = 0 ] && [ "$state" = done ]; then
        check_dest "$r" 1
    else
        check_dest "$r" 0
    fi

    if [ $((r % 2)) -eq 0 ] && [ "$state" = interrupted ]; then
        resumes=$((resumes + 1))
        if [ $((r % 4)) -eq 0 ]; then
            run_killed $((RANDOM % 500)) "$F" resume -q "$job"
            if [ "$killed" = 1 ]; then
                kills=$((kills + 1)) resume_kills=$((resume_kills + 1))
                temps_before=$((temps_before + $(count_temps)))
            elif [ "$last_status" != 0 ]; then
                loss "$r" "resume $job exited $last_status: $(head -c 300 "$W/err")"
            fi
            open_journal "$r"
            check_dest "$r" 0
        fi
        if [ "$state" = interrupted ] && ! "$F" resume -q "$job" >"$W/out" 2>"$W/err"; then
            loss "$r" "resume $job failed: $(head -c 300 "$W/err")"
        fi
        open_journal "$r"
        if [ "$state" = done ]; then
            resumes_done=$((resumes_done + 1))
        else
            loss "$r" "job $job is $state after its resume"
        fi
        check_dest "$r" 1
    fi
    rm -rf "$dest"
    if [ $((r % 50)) -eq 0 ]; then
        echo "# round $r: $kills kills ($copy_kills copies, $resume_kills resumes, $recovery_kills recoveries), $losses losses, $(($(date +%s) - t_start)) s" >&2
    fi
done
wall=$(($(date +%s) - t_start))
distinct() { if [ -f "$1" ]; then sort -u "$1" | wc -l; else echo 0; fi; }
wrong=$(distinct "$W/wrong.log") temps_after=$(distinct "$W/temps.log")
lost_rounds=$(if [ -f "$W/loss-rounds" ]; then paste -sd, "$W/loss-rounds"; else echo none; fi)

cat <<EOF
$bin ($("$F" --version), sha256 $(sha256sum "$F" | head -c 12)), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(findmnt -no FSTYPE -T "$W") at $W; sequences as a $seq_how

| kills | of copies (small / big / seq) | of resumes | of recoveries | rounds | copies that ended before the kill | resumes completed | files compared | partial or wrong files under final names | temps seen before / left after the sweep | journal opened | rounds with a loss | wall time |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
| $kills | $copy_kills (${kind_kills[small]} / ${kind_kills[big]} / ${kind_kills[seq]}) | $resume_kills | $recovery_kills | $rounds | $exited_first | $resumes_done of $resumes | $files_checked | $wrong | $temps_before / $temps_after | $journal_opens of $journal_tries | $losses | $((wall / 60)) min $((wall % 60)) s |

Rounds with a loss: $lost_rounds (evidence of the first five in $FAILS).
EOF
exit $((losses > 0))
