#!/usr/bin/env bash
# The Python environment tests/mcp_client.py runs in: a virtual environment holding the official
# MCP Python SDK (the `mcp` package from PyPI, pinned), used as a real MCP client of `lore mcp`.
# Idempotent: an environment that already holds the pinned version is reused as it is.
#
# Usage: scripts/python-env.sh [DIR]
# DIR defaults to $LORE_PY_ENV, else ${XDG_CACHE_HOME:-$HOME/.cache}/lore/py-mcp.
# Prints the environment's python interpreter on stdout when done (progress goes to stderr).
set -euo pipefail

MCP_VERSION="2.3.0"
dir="${1:-${LORE_PY_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/lore/py-mcp}}"
python="$dir/bin/python"

installed() {
  [ -x "$python" ] &&
    [ "$("$python" -c 'import importlib.metadata as m; print(m.version("mcp"))' 2>/dev/null)" = "$MCP_VERSION" ]
}

if ! installed; then
  echo "lore: creating the MCP client environment (mcp==$MCP_VERSION) in $dir" >&2
  python3 -m venv --clear "$dir" >&2
  "$python" -m pip install --quiet --disable-pip-version-check "mcp==$MCP_VERSION" >&2
  installed || { echo "lore: mcp==$MCP_VERSION did not install into $dir" >&2; exit 1; }
fi
echo "$python"
