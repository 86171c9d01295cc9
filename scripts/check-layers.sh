#!/usr/bin/env bash
# Layering rules madge does not check: libs never import services, and nobody reaches into another
# package's files (only `@hookpost/<lib>` through its index.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
if grep -rnE "from '@hookpost/(demo|fanout|batcher|delivery|api|dlq|cli)'" libs --include='*.ts'; then
  echo "check-layers: a lib imports a service" >&2; bad=1
fi
if grep -rnE "from '(\.\./)+(libs|services)/|from '@hookpost/[a-z-]+/" libs services test bench --include='*.ts' 2>/dev/null; then
  echo "check-layers: import past a package's public index.ts" >&2; bad=1
fi
exit $bad
