#!/usr/bin/env bash
# Checks that every metric name queried by the Grafana dashboard and by the Prometheus rules
# is exposed by a running application.
#
# Usage: scripts/check-dashboard-metrics.sh <prometheus-scrape-file-or-url>
#
#   scripts/check-dashboard-metrics.sh http://localhost:8080/actuator/prometheus
#   scripts/check-dashboard-metrics.sh target/hangup-sample-scrape.txt
#
# The names are taken from every `expr` of docs/grafana/hangup-dashboard.json (and from its
# variable queries) and of docs/prometheus/hangup-rules.yml; names recorded by the rules file
# itself are left out. Only names are checked, not label values. A timer's _count, _sum and
# _max series appear only after its first event, so produce hang-ups before scraping (see
# scripts/scrape-sample.sh, which does it all).
#
# Other files can be checked with HANGUP_DASHBOARD=... and HANGUP_RULES=...
# Exit status: 0 all present, 1 some missing (listed on stderr), 2 usage or fetch error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dashboard="${HANGUP_DASHBOARD:-$root/docs/grafana/hangup-dashboard.json}"
rules="${HANGUP_RULES:-$root/docs/prometheus/hangup-rules.yml}"

if [ $# -ne 1 ]; then
  sed -n '5,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "error: python3 is needed" >&2
  exit 2
fi

source="$1"
case "$source" in
  http://* | https://*)
    scrape="$(mktemp)"
    trap 'rm -f "$scrape"' EXIT
    # The Accept header Prometheus itself sends, so that the names are those it ingests.
    if ! curl -fsS --max-time 30 -o "$scrape" \
        -H 'Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' \
        "$source"; then
      echo "error: could not fetch $source" >&2
      exit 2
    fi
    ;;
  *)
    if [ ! -r "$source" ]; then
      echo "error: no such readable file: $source" >&2
      exit 2
    fi
    scrape="$source"
    ;;
esac

echo "Metric names queried by $(basename "$dashboard") and $(basename "$rules"), checked against $source:"
python3 "$root/scripts/promql_metrics.py" check --dashboard "$dashboard" --rules "$rules" --scrape "$scrape"
