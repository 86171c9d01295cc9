#!/usr/bin/env bash
# Builds the producer guide's Java example (docs/examples/java, Maven; its jars come from Maven Central
# into the local Maven repository, ~/.m2, like the stack's) into .cache/java-producer, once per content
# of its pom and sources. Prints the classpath to run it with:
#   java -cp "$(bash scripts/java-producer.sh)" dev.hookpost.examples.Producer --brokers … --events …
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/docs/examples/java
OUT=${HP_CACHE_DIR:-$ROOT/.cache}/java-producer
command -v mvn >/dev/null 2>&1 || { echo "Maven not found: install it (Debian: apt-get install maven)" >&2; exit 1; }
stamp=$(cd "$SRC" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
if [ "$(cat "$OUT/.built" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$OUT"
  mkdir -p "$OUT"
  # compile, then the dependencies' jars as a classpath (paths into ~/.m2; nothing copied).
  mvn -q -B -f "$SRC/pom.xml" -Dbuild.dir="$OUT" compile dependency:build-classpath \
    -Dmdep.outputFile="$OUT/classpath.txt" >"$OUT/mvn.log" 2>&1 \
    || { echo "Maven could not build docs/examples/java (see $OUT/mvn.log)" >&2; tail -n 20 "$OUT/mvn.log" >&2; exit 1; }
  echo "$stamp" >"$OUT/.built"
fi
echo "$OUT/classes:$(cat "$OUT/classpath.txt")"
