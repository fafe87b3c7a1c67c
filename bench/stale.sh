#!/usr/bin/env bash
# Requests failed per 1,000 against an upstream that drops idle keep-alive connections,
# with Hangup and with --hangup.enabled=false, in the same run.
# Usage: bench/stale.sh [--requests N] [--workers N] [--seed N]
set -euo pipefail
source "$(dirname "$0")/build.sh"
cd "$ROOT/bench"
exec java -Xmx256m -cp "$BENCH_CP" io.github.hangup.bench.harness.StaleBench --out "$ROOT/bench/target/stale" "$@"
