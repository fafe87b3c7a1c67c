#!/usr/bin/env bash
# Load overhead ratios, cancel propagation latency and a cancel storm, on loopback.
# Usage: bench/load.sh [--quick] [--only ratios,cancel,storm] [--runs N] [--duration S] [--warm-up S]
#                      [--storm-duration S] [--clients N] [--cancels N]
# The load generator is Java (bench/src/main/java/.../LoadGenerator.java): no external tool needed.
# With 2 or more CPUs and taskset, the applications under test run on the last CPU and the
# generator and upstream on the others, so that they do not compete for the same CPU;
# BENCH_PIN=false turns that off.
set -euo pipefail
source "$(dirname "$0")/build.sh"
cd "$ROOT/bench"
CPUS="$(nproc --all)"
PIN=()
if [ "${BENCH_PIN:-true}" = "true" ] && [ "$CPUS" -ge 2 ] && command -v taskset > /dev/null; then
  PIN=(taskset -c "0-$((CPUS - 2))")
  set -- --app-cpus "$((CPUS - 1))" "$@"
fi
exec "${PIN[@]}" java -Xmx512m -cp "$BENCH_CP" io.github.hangup.bench.harness.LoadBench \
  --sample-jar "$SAMPLE_JAR" --out "$ROOT/bench/target/load" "$@"
