#!/usr/bin/env bash
# Installs everything ferry's build, tests and benchmarks need on Debian 12.
# Idempotent: when every package is present it does no apt work at all, and
# `npm ci` runs only when node_modules is missing or older than the lockfile.
set -euo pipefail

cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev          # libFuzzer targets, TSan/ASan with clang
  libwebsockets-dev libmicrohttpd-dev libwslay-dev libjansson-dev libsqlite3-dev sqlite3
  libxxhash-dev libssl-dev libopenexr-dev libcmocka-dev libfiu-dev
  rsync util-linux procps psmisc python3 curl
  chromium
)
# Node.js: the machine may carry its own build (which bundles npm and conflicts
# with Debian's npm package); install Debian's only when there is none.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm  >/dev/null 2>&1 || PKGS+=(npm)


missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    echo "install-deps: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules
  fi
fi
