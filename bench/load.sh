#!/usr/bin/env bash
# Load overhead ratios, cancel propagation latency and a cancel storm, on loopback.
# Usage: bench/load.sh [--quick] [--only ratios,cancel,storm] [--runs N] [--duration S]
#                      [--storm-duration S] [--clients N] [--cancels N]
# The load generator is Java (bench/src/main/java/.../LoadGenerator.java): no external tool needed.
set -euo pipefail
source "$(dirname "$0")/build.sh"
cd "$ROOT/bench"
exec java -Xmx512m -cp "$BENCH_CP" io.github.hangup.bench.harness.LoadBench \
  --sample-jar "$SAMPLE_JAR" --out "$ROOT/bench/target/load" "$@"
