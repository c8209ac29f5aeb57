#!/usr/bin/env bash
# Performance benchmark for gunj-mesh (issue "Performance"). Run from anywhere:
#
#   bash scripts/bench.sh
#
# Builds the release binary, generates synthetic observability streams of about 1, 10 and
# 100 MB (scripts/gen-stream.py, seeded, cached in target/bench/), runs
# `gunj-mesh -q --mesh istio|linkerd -c benches/all-features.yaml` on each, measures start-up
# on a ~10 KB stream (median of 20), and, when kubectl is available, times the equivalent
# `kubectl kustomize` patch on the 1 and 10 MB streams. Every measurement follows hyperfine's
# default rule, at least 10 runs and at least 3 s, and reports the best and the median wall
# time and the peak RSS (scripts/measure.py).
#
# Environment: BENCH_SIZES (default "1 10 100"), BENCH_RUNS (default 10), BENCH_SECONDS
# (default 3), BENCH_STARTUP_RUNS (default 20), BENCH_KUSTOMIZE=0 to skip kustomize.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
sizes="${BENCH_SIZES:-1 10 100}"
runs="${BENCH_RUNS:-10}"
seconds="${BENCH_SECONDS:-3}"
startup_runs="${BENCH_STARTUP_RUNS:-20}"
dir="$root/target/bench"
bin="$root/target/release/gunj-mesh"
# Every feature on: policies, authorization, NetworkPolicies, telemetry, dashboards.
config="$root/benches/all-features.yaml"
mkdir -p "$dir"

command -v python3 >/dev/null || { echo "bench.sh: python3 is required" >&2; exit 2; }

# --- machine -------------------------------------------------------------------------------
echo "== machine"
echo "cpus:   $(nproc)"
echo "cpu:    $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "kernel: $(uname -sr)"
echo "rustc:  $(rustc --version 2>/dev/null || echo '?')"
echo

# --- build ---------------------------------------------------------------------------------
echo "== build"
cargo build --release --quiet
echo "built $bin"
echo

# --- inputs --------------------------------------------------------------------------------
gen() { # gen NAME SIZE_MB [extra args]: (re)generate when missing or older than the generator
  local out="$dir/$1.yaml" mb="$2"
  shift 2
  if [[ ! -s "$out" || "$root/scripts/gen-stream.py" -nt "$out" ]]; then
    python3 "$root/scripts/gen-stream.py" --size-mb "$mb" "$@" "$out"
  fi
}
echo "== inputs ($dir)"
for s in $sizes; do gen "stream-${s}mb" "$s"; done
gen stream-10kb 0.01 --no-blobs
ls -l "$dir"/stream-*.yaml | awk '{print "  " $5 " bytes  " $9}'
echo

# --- measurement helpers -------------------------------------------------------------------
# measure OUT_VAR_PREFIX CMD...: the best and median wall seconds of at least $runs runs
# and $seconds s, and the peak RSS (KiB) of all of them, from scripts/measure.py
# (posix_spawn + wait4 around the command itself).
measure() {
  local prefix="$1" best rss med min max n
  shift
  read -r best rss med min max n < <(python3 "$root/scripts/measure.py" "$runs" "$seconds" "$@") \
    || return 1
  [[ -n "$best" ]] || return 1
  printf -v "${prefix}_wall" '%s' "$best"
  printf -v "${prefix}_med" '%s' "$med"
  printf -v "${prefix}_rss" '%s' "$rss"
  printf -v "${prefix}_n" '%s' "$n"
}

declare -A WALL MED
row() { # row SIZE_BYTES MODE BEST_WALL MEDIAN_WALL RUNS RSS_KIB
  awk -v b="$1" -v m="$2" -v w="$3" -v md="$4" -v n="$5" -v r="$6" 'BEGIN {
    mb = b / 1048576; rmb = r / 1024
    printf "| %8.2f | %-18s | %4d | %8.3f | %8.3f | %8.1f | %11.1f | %9.2f |\n",
           mb, m, n, w, md, (w > 0 ? mb / w : 0), rmb, rmb / mb }'
}
header() {
  echo "|  size MB | mode               | runs | best s   | median s |     MB/s | peak RSS MB | RSS/input |"
  echo "|---------:|--------------------|-----:|---------:|---------:|---------:|------------:|----------:|"
}

# --- throughput ----------------------------------------------------------------------------
echo "== throughput (at least $runs runs and $seconds s each; MB/s of the best; output to /dev/null)"
header
for s in $sizes; do
  f="$dir/stream-${s}mb.yaml"
  bytes=$(stat -c %s "$f")
  for mesh in istio linkerd; do
    measure m "$bin" -q --mesh "$mesh" -c "$config" "$f"
    WALL["$s/$mesh"]="$m_wall"
    MED["$s/$mesh"]="$m_med"
    row "$bytes" "gunj-mesh $mesh" "$m_wall" "$m_med" "$m_n" "$m_rss"
  done
done
echo

# --- linearity -----------------------------------------------------------------------------
if [[ -n "${WALL[10/istio]:-}" && -n "${WALL[100/istio]:-}" ]]; then
  echo "== linearity (target: 100 MB time <= 11x the 10 MB time)"
  for mesh in istio linkerd; do
    awk -v a="${WALL[100/$mesh]}" -v b="${WALL[10/$mesh]}" -v am="${MED[100/$mesh]}" \
      -v bm="${MED[10/$mesh]}" -v m="$mesh" \
      'BEGIN {printf "%-8s t(100 MB) / t(10 MB) = %.2f best to best, %.2f median to median\n", m, a / b, am / bm}'
  done
  echo
fi

# --- start-up ------------------------------------------------------------------------------
echo "== start-up: ~10 KB stream, $startup_runs runs"
small="$dir/stream-10kb.yaml"
read -r _ _ med min max _ < <(python3 "$root/scripts/measure.py" "$startup_runs" 0 \
  "$bin" -q --mesh istio -c "$config" "$small")
awk -v f="$(stat -c %s "$small")" -v med="$med" -v min="$min" -v max="$max" 'BEGIN {
  printf "%d bytes: median %.2f ms, min %.2f ms, max %.2f ms (wall, including spawn and exec)\n",
         f, med * 1000, min * 1000, max * 1000 }'
echo

# --- kubectl kustomize ---------------------------------------------------------------------
kubectl=""
if [[ -x "$root/.tools/bin/kubectl" ]]; then kubectl="$root/.tools/bin/kubectl"
elif command -v kubectl >/dev/null 2>&1; then kubectl="$(command -v kubectl)"; fi
if [[ "${BENCH_KUSTOMIZE:-1}" == 0 ]]; then
  echo "== kubectl kustomize: skipped (BENCH_KUSTOMIZE=0)"
elif [[ -z "$kubectl" ]]; then
  echo "== kubectl kustomize: skipped (no kubectl; bash scripts/install-tools.sh installs one)"
else
  echo "== kubectl kustomize ($kubectl, $("$kubectl" version --client 2>/dev/null | tr '\n' ' '))"
  echo "   same change: label sidecar.istio.io/inject=\"true\" on every Deployment/StatefulSet/DaemonSet pod template"
  header
  for s in 1 10; do
    f="$dir/stream-${s}mb.yaml"
    [[ -s "$f" && -n "${WALL[$s/istio]:-}" ]] || continue
    k="$dir/kustomize-${s}mb"
    rm -rf "$k"; mkdir -p "$k"
    cp "$f" "$k/stream.yaml"
    {
      echo "apiVersion: kustomize.config.k8s.io/v1beta1"
      echo "kind: Kustomization"
      echo "resources: [stream.yaml]"
      echo "patches:"
      for kind in Deployment StatefulSet DaemonSet; do
        echo "  - target: {kind: $kind}"
        echo "    patch: |-"
        echo "      - op: add"
        echo "        path: /spec/template/metadata/labels/sidecar.istio.io~1inject"
        echo "        value: \"true\""
      done
    } >"$k/kustomization.yaml"
    # The same rule as gunj-mesh's runs: kustomize's own time varies by a factor of two
    # between runs on this kind of machine.
    label="kubectl kustomize"
    if measure kz timeout 300 "$kubectl" kustomize "$k"; then
      row "$(stat -c %s "$f")" "$label" "$kz_wall" "$kz_med" "$kz_n" "$kz_rss"
      n=$(timeout 300 "$kubectl" kustomize "$k" | grep -c 'sidecar.istio.io/inject: "true"' || true)
      awk -v a="$kz_wall" -v b="${WALL[$s/istio]}" -v am="$kz_med" -v bm="${MED[$s/istio]}" \
        -v s="$s" -v n="$n" 'BEGIN {
          printf "   %s MB: kustomize / gunj-mesh istio = %.0fx best to best, %.0fx median to median", s, a / b, am / bm
          printf " (kustomize output: %d injected labels)\n", n }'
    else
      echo "   ${s} MB: kubectl kustomize failed or exceeded 300 s"
    fi
  done
fi
