#!/usr/bin/env bash
# bench/soak.sh [ROUNDS]: the kill -9 soak, 1,000 rounds by default: the crash
# system test (tests/system/test_crash.sh) run long. Each round copies a
# sequence of 40 frames, an 8 MiB plate and a symlink (both temp paths,
# durable and not), kills ferry at a random moment, reopens the journal,
# checks every file under a final name against its source and that no temp
# is left, and every fourth round resumes the job to completion.
set -euo pipefail
cd "$(dirname "$0")/.."
export FERRY=${FERRY:-$PWD/build/ferry}
CRASH_ROUNDS=${1:-1000} bash tests/system/test_crash.sh
