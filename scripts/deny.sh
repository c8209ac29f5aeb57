#!/usr/bin/env bash
# Supply-chain checks with cargo-deny and deny.toml: licences, bans (duplicate versions,
# wildcards) and sources always; advisories when the RustSec database can be fetched.
# Installs cargo-deny from crates.io when missing.
#
# The advisory database lives on GitHub, which this project's machines cannot reach. Then
# the advisories check is reported as NOT run (a WARNING line), not as passed; with
# GUNJ_REQUIRE_ADVISORIES=1 it fails instead.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deny --version >/dev/null 2>&1; then
  echo "== installing cargo-deny"
  cargo install cargo-deny --version 0.20.2 --locked
fi

cargo deny --locked check licenses bans sources

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if cargo deny --locked check advisories >"$log" 2>&1; then
  cat "$log"
  echo "advisories ok"
elif grep -q "failed to fetch advisory database" "$log"; then
  grep -m1 "failed to fetch" "$log" >&2
  echo "WARNING: advisories NOT checked: the RustSec advisory database cannot be fetched from this machine" >&2
  if [ "${GUNJ_REQUIRE_ADVISORIES:-0}" = 1 ]; then
    exit 1
  fi
else
  cat "$log" >&2
  echo "error: cargo deny found advisories" >&2
  exit 1
fi
