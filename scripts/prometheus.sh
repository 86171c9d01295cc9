#!/usr/bin/env bash
# A real Prometheus (Debian's package, installed on first use by scripts/promtool.sh) scraping the
# `npm start` demo on this host and evaluating deploy/prometheus/alerts.yml.
#
#   bash scripts/prometheus.sh start   # http://127.0.0.1:9090 (HP_PROMETHEUS_PORT), data in .data/prometheus
#   bash scripts/prometheus.sh status  # scrape health of every target and the alert rules' state
#   bash scripts/prometheus.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${HP_PROMETHEUS_PORT:-9090}
DIR=.data/prometheus
PID=$DIR/prometheus.pid

case "${1:-}" in
  start)
    bash scripts/promtool.sh --version >/dev/null
    if [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; then echo "prometheus already running (pid $(cat "$PID"))"; exit 0; fi
    mkdir -p "$DIR/data"
    # The checked-in config targets host.docker.internal (docker-compose); on the host it is 127.0.0.1.
    sed 's/host\.docker\.internal/127.0.0.1/' deploy/prometheus/prometheus.yml >"$DIR/prometheus.yml"
    cp deploy/prometheus/alerts.yml "$DIR/alerts.yml"
    nohup prometheus --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" \
      --web.listen-address="127.0.0.1:$PORT" >"$DIR/prometheus.log" 2>&1 </dev/null &
    echo $! >"$PID"
    for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && break; sleep 0.5; done
    echo "prometheus on http://127.0.0.1:$PORT (pid $(cat "$PID"))"
    ;;
  status)
    curl -sf "http://127.0.0.1:$PORT/api/v1/targets" | node -e '
      const t = JSON.parse(require("fs").readFileSync(0)).data.activeTargets;
      for (const x of t) console.log(`target ${x.labels.role.padEnd(15)} ${x.health.padEnd(8)} ${x.scrapeUrl} ${x.lastError}`);'
    curl -sf "http://127.0.0.1:$PORT/api/v1/rules" | node -e '
      const g = JSON.parse(require("fs").readFileSync(0)).data.groups;
      for (const r of g.flatMap((x) => x.rules)) console.log(`rule   ${r.name.padEnd(22)} ${r.health.padEnd(3)} ${r.state ?? ""} ${r.lastError ?? ""}`);'
    ;;
  stop)
    if [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; then kill "$(cat "$PID")"; echo "prometheus stopped"; fi
    rm -f "$PID"
    ;;
  *) echo "usage: scripts/prometheus.sh start|status|stop" >&2; exit 2 ;;
esac
