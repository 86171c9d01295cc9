#!/usr/bin/env bash
# Builds the producer guide's Go example (docs/examples/go: franz-go and hamba/avro, fetched from the
# Go module proxy into the Go module cache on first use) into .cache/go-producer, once per content of
# its sources. Prints the binary to run:
#   "$(bash scripts/go-producer.sh)" --brokers … --registry … --topic … --events …
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/docs/examples/go
OUT=${HP_CACHE_DIR:-$ROOT/.cache}/go-producer
command -v go >/dev/null 2>&1 || { echo "Go not found: install Go 1.26 or newer (franz-go 1.22 asks for it)" >&2; exit 1; }
stamp=$( (cd "$SRC" && find . -maxdepth 1 -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 | sort -z | xargs -0 sha256sum; go version) | sha256sum | cut -c1-16)
if [ "$(cat "$OUT/.built" 2>/dev/null)" != "$stamp" ] || [ ! -x "$OUT/producer" ]; then
  rm -rf "$OUT"
  mkdir -p "$OUT"
  (cd "$SRC" && go build -trimpath -buildvcs=false -o "$OUT/producer" .) >"$OUT/build.log" 2>&1 \
    || { echo "go build failed for docs/examples/go (see $OUT/build.log)" >&2; tail -n 20 "$OUT/build.log" >&2; exit 1; }
  echo "$stamp" >"$OUT/.built"
fi
echo "$OUT/producer"
