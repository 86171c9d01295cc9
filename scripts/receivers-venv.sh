#!/usr/bin/env bash
# A Python venv for the receiver-guide snippets (docs/examples/receivers/python): the Standard Webhooks
# library from PyPI, pinned, under .cache/ so it is made once per checkout. Prints the venv's python.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/pinned-venv.sh" receivers-venv "standardwebhooks==1.1.0"
