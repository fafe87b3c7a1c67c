#!/usr/bin/env bash
# End-to-end check of the dashboard's and rules' metric names against the real application:
#   1. builds the sample app when its jar is missing or older than the sources,
#   2. starts it on a free loopback port and waits for /actuator/health,
#   3. produces hang-ups: an upstream reset (502), a client cancel, and a plain 200,
#   4. scrapes /actuator/prometheus to a file once the hang-ups are recorded,
#   5. stops the app and runs scripts/check-dashboard-metrics.sh on the scrape.
#
# Usage: scripts/scrape-sample.sh [scrape-file]   (default: target/hangup-sample-scrape.txt)
#
# Environment: JAVA_HOME (else java on the PATH), HANGUP_START_TIMEOUT (seconds, default 120).
# Exits non-zero when any step fails; the app is stopped in every case.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

out="${1:-target/hangup-sample-scrape.txt}"
start_timeout="${HANGUP_START_TIMEOUT:-120}"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
work="$(mktemp -d)"
log="$work/sample-app.log"
app_pid=""

fail() {
  echo "error: $*" >&2
  exit 1
}

stop_app() {
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill -TERM "$app_pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$app_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.2
    done
    if kill -0 "$app_pid" 2>/dev/null; then
      echo "The sample app did not stop within 30 s: killing it" >&2
      kill -KILL "$app_pid" 2>/dev/null || true
    fi
    wait "$app_pid" 2>/dev/null || true
  fi
  app_pid=""
}

cleanup() {
  local status=$?
  stop_app
  if [ "$status" -ne 0 ] && [ -s "$log" ]; then
    echo "--- last lines of the sample app's log" >&2
    tail -n 40 "$log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The newest runnable jar, whatever the version.
find_jar() {
  local newest="" candidate
  for candidate in sample-app/target/hangup-sample-app-*.jar; do
    case "$candidate" in *-sources.jar | *-javadoc.jar) continue ;; esac
    if [ -f "$candidate" ] && { [ -z "$newest" ] || [ "$candidate" -nt "$newest" ]; }; then
      newest="$candidate"
    fi
  done
  echo "$newest"
}

# 1. Build when needed.
jar="$(find_jar)"
if [ -z "$jar" ] || [ -n "$(find pom.xml ./*/pom.xml ./*/src -newer "$jar" -type f -print -quit 2>/dev/null)" ]; then
  echo "Building the sample app"
  ./mvnw -q -B -DskipTests -pl sample-app -am package
  jar="$(find_jar)"
  [ -n "$jar" ] || fail "the build produced no sample-app/target/hangup-sample-app-*.jar"
fi

# 2. Start on a free port.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
echo "Starting $jar on port $port"
"$java" -jar "$jar" --server.port="$port" --server.address=127.0.0.1 >"$log" 2>&1 &
app_pid=$!

deadline=$((SECONDS + start_timeout))
until curl -sf --max-time 2 -o /dev/null "$base/actuator/health"; do
  kill -0 "$app_pid" 2>/dev/null || { app_pid=""; fail "the sample app exited during start-up"; }
  [ "$SECONDS" -lt "$deadline" ] || fail "the sample app was not healthy within $start_timeout s"
  sleep 0.5
done
echo "Healthy after $((SECONDS - deadline + start_timeout)) s"

# 3. Produce hang-ups.
status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$base/hangup" || true)"
[ "$status" = "502" ] || fail "GET /hangup answered $status, expected 502 (upstream reset)"
echo "GET /hangup -> 502 (UPSTREAM_RESET)"

rc=0
curl -s -o /dev/null --max-time 1 "$base/slow?ms=60000" || rc=$?
[ "$rc" -eq 28 ] || fail "GET /slow?ms=60000 with a 1 s client timeout: curl exit $rc, expected 28 (timed out)"
echo "GET /slow?ms=60000, given up after 1 s (CLIENT_CANCEL)"

status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$base/ok" || true)"
[ "$status" = "200" ] || fail "GET /ok answered $status, expected 200"
echo "GET /ok -> 200"

# 4. Scrape, once the client cancel (noticed when the connection closes) is recorded.
mkdir -p "$(dirname "$out")"
accept='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
deadline=$((SECONDS + 30))
while :; do
  curl -fsS --max-time 10 -H "Accept: $accept" -o "$out" "$base/actuator/prometheus" || fail "could not scrape $base/actuator/prometheus"
  if grep -q '^http_server_hangups_seconds_count{.*kind="CLIENT_CANCEL"' "$out" \
      && grep -q '^http_server_hangups_seconds_count{.*kind="UPSTREAM_RESET"' "$out"; then
    break
  fi
  [ "$SECONDS" -lt "$deadline" ] || fail "the hang-ups were not recorded within 30 s (scrape kept in $out)"
  sleep 0.5
done
echo "Scraped $base/actuator/prometheus to $out"

# 5. Stop the app, then check.
stop_app
scripts/check-dashboard-metrics.sh "$out"
