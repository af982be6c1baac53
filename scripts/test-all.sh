#!/usr/bin/env bash
# Every test of ferry, as `make test` and CI run them:
#   1. release build: unit, system and browser tests
#   2. ASan+UBSan build with the fault-injection points: unit and system tests
#      (the kill -9 test with fewer rounds: a sanitized binary is slower)
#   3. TSan build: the unit tests (jobs, pool, cancel storms, events)
# Each CTest run prints its own summary; this script fails if any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)
status=0

run_suite() { # NAME BUILD_DIR CMAKE_ARGS CTEST_ARGS (environment assignments may precede)
    local name=$1 dir=$2 cargs=$3 targs=$4
    echo "== $name ($dir)"
    # shellcheck disable=SC2086
    cmake -S . -B "$dir" -G Ninja $cargs >/dev/null
    cmake --build "$dir" -j "$JOBS"
    # shellcheck disable=SC2086
    (cd "$dir" && ctest --output-on-failure -j "$JOBS" $targs) || status=1
}

run_suite "release: unit and system tests" build "-DCMAKE_BUILD_TYPE=RelWithDebInfo" ""
# halt_on_error: a sanitizer finding fails the test that triggered it.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
CRASH_ROUNDS=60 run_suite "ASan+UBSan: unit and system tests" build-asan \
    "-DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=address -DFERRY_FAULTS=ON" "-LE browser"
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
run_suite "TSan: threaded unit tests" build-tsan \
    "-DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=thread" "-L unit"

if [ "$status" -ne 0 ]; then
    echo "make test: FAILED" >&2
fi
exit "$status"
