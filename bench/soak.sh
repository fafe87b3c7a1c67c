#!/usr/bin/env bash
# Chaos soak. Usage: bench/soak.sh [--ci] [--gateway | --mvc] [--requests N] [--workers N] [--seed N]
#   default: 20,000 requests; --ci: 3,000 requests (about a minute on 2 cores).
#   --gateway: the proxy is a Spring Cloud Gateway application on the starter, routes from properties.
#   --mvc: the proxy is a Spring MVC application on Tomcat and the MVC starter (bench/mvc).
# Exits non-zero, with a report, unless every check passes.
set -euo pipefail
source "$(dirname "$0")/build.sh"
cd "$ROOT/bench"
exec java -Xmx512m ${SOAK_JAVA_OPTS:-} -Dsoak.gateway-classpath="$BENCH_GATEWAY_CP" -Dsoak.mvc-classpath="$BENCH_MVC_CP" -cp "$BENCH_CP" io.github.hangup.bench.harness.Soak --out "$ROOT/bench/target/soak" "$@"
