#!/usr/bin/env bash
# pinned-venv.sh NAME PACKAGE==VERSION…: a Python venv under .cache/NAME holding exactly those PyPI pins,
# made once per checkout and remade when the pins change. Prints the venv's python.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NAME=$1
shift
VENV="$ROOT/.cache/$NAME"
STAMP=$(printf '%s\n' "$@")
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.pinned" 2>/dev/null)" != "$STAMP" ]; then
  command -v python3 >/dev/null 2>&1 || { echo "$NAME: python3 not found" >&2; exit 1; }
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
  echo "$STAMP" >"$VENV/.pinned"
fi
echo "$VENV/bin/python"
