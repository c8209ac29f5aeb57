#!/bin/sh
# Entry point of the gunj-mesh Helm 4 post-renderer plugin (see plugin.yaml).
# Finds the gunj-mesh binary and execs it with Helm's argv (the
# --post-renderer-args) and stdin/stdout untouched. Lookup order:
#   1. $GUNJ_MESH_BIN
#   2. gunj-mesh on PATH
#   3. $HELM_PLUGIN_DIR/bin/gunj-mesh (a binary shipped inside the plugin)
# Helm 4 discards a plugin's stderr (even with --debug), so set GUNJ_MESH_LOG
# to a file to keep gunj-mesh's error messages.
set -eu

if [ -n "${GUNJ_MESH_LOG:-}" ]; then
  exec 2>>"$GUNJ_MESH_LOG"
fi

if [ -n "${GUNJ_MESH_BIN:-}" ]; then
  bin=$GUNJ_MESH_BIN
elif bin=$(command -v gunj-mesh 2>/dev/null); then
  :
elif [ -n "${HELM_PLUGIN_DIR:-}" ] && [ -x "$HELM_PLUGIN_DIR/bin/gunj-mesh" ]; then
  bin=$HELM_PLUGIN_DIR/bin/gunj-mesh
else
  echo "gunj-mesh: binary not found: set GUNJ_MESH_BIN, put gunj-mesh on PATH, or install it as \$HELM_PLUGIN_DIR/bin/gunj-mesh" >&2
  exit 127
fi

exec "$bin" "$@"
