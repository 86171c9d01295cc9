#!/usr/bin/env bash
# promtool from Debian's `prometheus` package, installed on first use (quietly; needs root and apt).
#
#   bash scripts/promtool.sh verify          check prometheus.yml and alerts.yml, run alerts.test.yml
#   bash scripts/promtool.sh <promtool args>  anything else goes to promtool as is
set -euo pipefail
cd "$(dirname "$0")/.."

ensure_promtool() {
  command -v promtool >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || { echo "promtool.sh: promtool missing and no apt-get; install Prometheus' promtool" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "promtool.sh: promtool missing; run as root to install Debian's prometheus package, or install promtool" >&2; exit 1; }
  echo "promtool.sh: installing Debian's prometheus package for promtool" >&2
  export DEBIAN_FRONTEND=noninteractive
  local log
  log=$(mktemp)
  # A fresh image has no package lists: update only when the first try fails.
  if ! apt-get install -y -qq --no-install-recommends prometheus >"$log" 2>&1; then
    apt-get update -qq >"$log" 2>&1 && apt-get install -y -qq --no-install-recommends prometheus >"$log" 2>&1 ||
      { cat "$log" >&2; rm -f "$log"; echo "promtool.sh: could not install prometheus" >&2; exit 1; }
  fi
  rm -f "$log"
  command -v promtool >/dev/null 2>&1 || { echo "promtool.sh: installed, but no promtool on PATH" >&2; exit 1; }
}

ensure_promtool
if [ "${1:-}" = verify ]; then
  # prometheus-k8s.yml is not checked here: Debian builds Prometheus without Kubernetes discovery.
  promtool check config deploy/prometheus/prometheus.yml
  promtool check rules deploy/prometheus/alerts.yml
  promtool test rules deploy/prometheus/alerts.test.yml
else
  exec promtool "$@"
fi
