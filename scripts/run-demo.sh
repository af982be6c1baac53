#!/usr/bin/env bash
# `make run`: shows what the built ferry can do. (The daemon, once it lands,
# is started here with --root on a demo directory.)
set -euo pipefail
cd "$(dirname "$0")/.."
FERRY=${1:-build/ferry}
"$FERRY" --help
