#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 60), one after the other,
# and fails on the first crash, leak, timeout or out-of-memory. Installs cargo-fuzz from
# crates.io when missing; needs the nightly toolchain (`cargo +nightly`).
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# New inputs go to fuzz/corpus/TARGET (not committed); fuzz/seeds/TARGET, the examples and
# the bad-input cases are read as seeds. A crash leaves its input in fuzz/artifacts/TARGET;
# reproduce it with `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-…`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(split filter config krm fast_yaml sparse check edit)

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "error: fuzzing needs the nightly toolchain (cargo +nightly); none is installed" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --version 0.13.2 --locked
fi

cargo +nightly fuzz build
for t in "${targets[@]}"; do
  seeds=("$root/fuzz/seeds/$t")
  case $t in
    split | filter | fast_yaml | sparse | check) seeds+=("$root/examples/stream" "$root/tests/bad_inputs") ;;
    config) seeds+=("$root/examples") ;;
  esac
  mkdir -p "fuzz/corpus/$t"
  log="fuzz/corpus/$t.log"
  echo "== fuzz $t for ${secs}s"
  if ! cargo +nightly fuzz run "$t" "$root/fuzz/corpus/$t" "${seeds[@]}" -- \
    -max_total_time="$secs" -dict="$root/fuzz/yaml.dict" -max_len=16384 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "error: fuzz target $t failed; the input is in fuzz/artifacts/$t (full log: $log)" >&2
    exit 1
  fi
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
done
echo "fuzz: ${#targets[@]} targets x ${secs}s, no failure"
