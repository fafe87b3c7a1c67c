#!/usr/bin/env bash
# JMH microbenchmarks: time and allocation per operation (-prof gc).
# Usage: bench/jmh.sh [JMH options], e.g. bench/jmh.sh ClassifierBenchmark
# Modest defaults for a 2-core machine: 1 fork, 3 x 1 s warm-up, 5 x 1 s measurement.
set -euo pipefail
source "$(dirname "$0")/build.sh"
mkdir -p "$ROOT/bench/target/jmh"
exec java -cp "$BENCH_CP" org.openjdk.jmh.Main -f 1 -wi 3 -w 1s -i 5 -r 1s -t 1 -prof gc \
  -rf text -rff "$ROOT/bench/target/jmh/results.txt" "${@:-io.github.hangup.bench.jmh}"
