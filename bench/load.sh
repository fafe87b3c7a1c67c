#!/usr/bin/env bash
# Load overhead ratios, cancel propagation latency and a cancel storm, on loopback.
# Usage: bench/load.sh [--quick] [--only ratios,side-by-side,cancel,storm,bound,errors] [--launches N] [--runs N]
#                      [--duration S] [--warm-up S] [--storm-duration S] [--clients N] [--cancels N] [--control]
#                      [--connections N] [--ci] [--fail-above RATIO] [--proxy sample|mvc-tomcat|mvc-jetty]
# The load generator of the first four parts is Java (bench/src/main/java/.../LoadGenerator.java);
# "bound" (the proxy as the bottleneck) uses wrk, installed here with apt-get when missing; its
# proxy is the sample app, or with --proxy mvc-tomcat / mvc-jetty the Spring MVC relay of bench/mvc;
# "errors" compares with nginx when it is installed (apt-get install nginx-light).
# With 2 or more CPUs and taskset, the applications under test run on the last CPU this script
# may use and the generator and upstream on the others, so that they do not compete for a CPU;
# BENCH_PIN=false turns that off. BENCH_ENABLED_ARGS and BENCH_DISABLED_ARGS add application
# arguments to one mode, e.g. BENCH_DISABLED_ARGS=--spring.http.clients.read-timeout=30s.
set -euo pipefail
source "$(dirname "$0")/build.sh"
if [[ " $* " == *bound* ]] && ! command -v wrk > /dev/null; then
  echo "Installing wrk ..." >&2
  SUDO=(); [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
  "${SUDO[@]}" apt-get update -qq > /dev/null && "${SUDO[@]}" apt-get install -y -qq wrk > /dev/null
fi
cd "$ROOT/bench"
# The CPUs this process may use, from its affinity list ("0-3", "0,2,4-5").
cpus_allowed() {
  local list parts part i
  list="$(taskset -cp $$ | sed 's/.*: *//')"
  IFS=',' read -ra parts <<< "$list"
  for part in "${parts[@]}"; do
    if [[ $part == *-* ]]; then
      for ((i = ${part%-*}; i <= ${part#*-}; i++)); do echo "$i"; done
    else
      echo "$part"
    fi
  done
}
PIN=()
if [ "${BENCH_PIN:-true}" = "true" ] && command -v taskset > /dev/null; then
  mapfile -t CPUS < <(cpus_allowed)
  if [ "${#CPUS[@]}" -ge 2 ]; then
    APP_CPU="${CPUS[-1]}"
    BENCH_CPUS="$(IFS=','; echo "${CPUS[*]:0:${#CPUS[@]}-1}")"
    PIN=(taskset -c "$BENCH_CPUS")
    set -- --app-cpus "$APP_CPU" "$@"
  fi
fi
exec "${PIN[@]}" java -Xmx512m -Dbench.mvc-tomcat-classpath="$BENCH_MVC_CP" \
  -Dbench.mvc-jetty-classpath="$BENCH_MVC_JETTY_CP" -cp "$BENCH_CP" io.github.hangup.bench.harness.LoadBench \
  --sample-jar "$SAMPLE_JAR" --out "$ROOT/bench/target/load" "$@"
