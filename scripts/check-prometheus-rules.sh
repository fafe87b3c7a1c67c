#!/usr/bin/env bash
# Checks the Prometheus rules and the Grafana dashboard's queries with promtool:
#   1. promtool check rules docs/prometheus/hangup-rules.yml   (syntax, names, templates)
#   2. promtool test rules docs/prometheus/hangup-rules.test.yml   (unit tests)
#   3. every query of docs/grafana/hangup-dashboard.json parses as PromQL
#
# Usage: scripts/check-prometheus-rules.sh
#
# promtool comes with Debian's `prometheus` package; when it is missing and apt-get can be
# used (as root), the package is installed. The rules are written for Prometheus 2.42 (Debian
# 12) and later.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v promtool >/dev/null 2>&1; then
  as_root=()
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ ${#as_root[@]} -gt 0 ]; }; then
    echo "promtool not found: installing Debian's prometheus package"
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  fi
  if ! command -v promtool >/dev/null 2>&1; then
    echo "error: promtool not found, and it could not be installed (needs apt-get and root)." >&2
    echo "Install Prometheus' promtool (Debian/Ubuntu: apt-get install prometheus) and retry." >&2
    exit 2
  fi
fi
promtool --version 2>&1 | head -n 1

promtool check rules docs/prometheus/hangup-rules.yml
promtool test rules docs/prometheus/hangup-rules.test.yml

queries="$(mktemp --suffix=.yml)"
trap 'rm -f "$queries"' EXIT
python3 scripts/promql_metrics.py dashboard-rules --dashboard docs/grafana/hangup-dashboard.json > "$queries"
echo "Checking the queries of docs/grafana/hangup-dashboard.json"
if ! output="$(promtool check rules "$queries" 2>&1)"; then
  echo "$output" >&2
  echo "error: some dashboard queries do not parse (each is named after its panel and refId)" >&2
  exit 1
fi
echo "  SUCCESS: $(grep -c '"record"' "$queries") dashboard queries parse"
