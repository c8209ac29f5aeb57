#!/bin/sh
# Entry point of the gunj-mesh Helm 4 post-renderer plugin (see plugin.yaml).
# Finds the gunj-mesh binary and execs it with Helm's argv (the
# --post-renderer-args) and stdin/stdout/stderr untouched. Lookup order:
#   1. $GUNJ_MESH_BIN
#   2. gunj-mesh on PATH
#   3. $HELM_PLUGIN_DIR/bin/gunj-mesh (a binary shipped inside the plugin)
# Helm 4 discards a plugin's stderr; gunj-mesh sees HELM_PLUGIN_NAME and appends
# its error to $GUNJ_MESH_LOG (default: $TMPDIR/gunj-mesh-UID/error.log) itself.
set -eu

if [ -n "${GUNJ_MESH_BIN:-}" ]; then
  bin=$GUNJ_MESH_BIN
elif bin=$(command -v gunj-mesh 2>/dev/null); then
  :
elif [ -n "${HELM_PLUGIN_DIR:-}" ] && [ -x "$HELM_PLUGIN_DIR/bin/gunj-mesh" ]; then
  bin=$HELM_PLUGIN_DIR/bin/gunj-mesh
else
  # No binary, so nothing else will write the log: do it here, as gunj-mesh would
  # (README.md, "When it fails"): never through a symlink, only into a file and a
  # 0700 directory of the user's. A shell checks before it writes, not as it opens.
  msg="gunj-mesh: error: binary not found: set GUNJ_MESH_BIN, put gunj-mesh on PATH, or install it as \$HELM_PLUGIN_DIR/bin/gunj-mesh"
  echo "$msg" >&2
  log=${GUNJ_MESH_LOG:-}
  if [ -z "$log" ]; then
    dir=${TMPDIR:-/tmp}/gunj-mesh-$(id -u)
    mkdir -m 700 "$dir" 2>/dev/null || :
    if [ -d "$dir" ] && [ ! -L "$dir" ] && [ -O "$dir" ] &&
      [ "$(ls -ld "$dir" | cut -c1-10)" = drwx------ ]; then
      log=$dir/error.log
    fi
  fi
  if [ -n "$log" ] && [ ! -L "$log" ] &&
    { [ ! -e "$log" ] || { [ -f "$log" ] && [ -O "$log" ]; }; }; then
    (umask 077 && printf '%s\n%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$msg" >>"$log") 2>/dev/null || :
  fi
  exit 127
fi

exec "$bin" "$@"
