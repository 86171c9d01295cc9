#!/usr/bin/env bash
# A Python venv for the receiver-guide snippets (docs/examples/receivers/python): the Standard Webhooks
# library from PyPI, pinned, under .cache/ so it is made once per checkout. Prints the venv's python.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.cache/receivers-venv"
PIN="standardwebhooks==1.1.0"
if [ ! -x "$VENV/bin/python" ] || ! grep -qx "$PIN" "$VENV/.pinned" 2>/dev/null; then
  command -v python3 >/dev/null 2>&1 || { echo "receivers-venv: python3 not found" >&2; exit 1; }
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$PIN" >&2
  echo "$PIN" >"$VENV/.pinned"
fi
echo "$VENV/bin/python"
