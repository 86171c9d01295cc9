#!/usr/bin/env bash
# Installs schemathesis (from PyPI, a pinned version) into a venv under .cache/ once, then runs it with the
# given arguments (paths in them absolute: it runs in .cache/). test/api/schemathesis.test.ts calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.32.5
venv="$PWD/.cache/schemathesis-$version"
# The marker is written only after a complete install, so an interrupted one is redone, not half-used.
if [ ! -f "$venv/.installed" ]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version" >&2
  touch "$venv/.installed"
fi
# It keeps a crash cache (.schemathesis/) in its working directory: that is .cache/, not the checkout.
cd .cache
exec "$venv/bin/schemathesis" "$@"
