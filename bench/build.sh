#!/usr/bin/env bash
# Builds the project and the bench classes; prints nothing but errors.
# Sourced by the other scripts: defines BENCH_CP (class path of the bench classes) and ROOT.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

mvn_offline_first() {
  # Offline when every dependency is cached; online otherwise (JMH on a fresh machine).
  (cd "$ROOT" && ./mvnw -B -q -o "$@") || (cd "$ROOT" && ./mvnw -B -q "$@")
}

if [ "${BENCH_SKIP_BUILD:-false}" != "true" ]; then
  echo "Building the project and bench/ ..." >&2
  mvn_offline_first install -DskipTests
  mvn_offline_first -f bench/pom.xml package -DskipTests
  mvn_offline_first -f bench/mvc/pom.xml package -DskipTests
fi
BENCH_CP="$ROOT/bench/target/classes:$(cat "$ROOT/bench/target/classpath.txt")"
# What the Gateway bench application adds to BENCH_CP: Spring Cloud Gateway.
BENCH_GATEWAY_CP="$(cat "$ROOT/bench/target/classpath-gateway.txt")"
# The class path of the soak's Spring MVC application (bench/mvc): MVC without WebFlux.
# BENCH_MVC_JETTY_CP: the same application on Jetty in place of Tomcat.
BENCH_MVC_CP=""
BENCH_MVC_JETTY_CP=""
if [ -f "$ROOT/bench/mvc/target/classpath.txt" ]; then
  BENCH_MVC_CP="$ROOT/bench/mvc/target/classes:$(cat "$ROOT/bench/mvc/target/classpath.txt")"
fi
if [ -f "$ROOT/bench/mvc/target/classpath-jetty.txt" ]; then
  BENCH_MVC_JETTY_CP="$ROOT/bench/mvc/target/classes:$(cat "$ROOT/bench/mvc/target/classpath-jetty.txt")"
fi
SAMPLE_JAR="$ROOT/sample-app/target/hangup-sample-app-0.1.0-SNAPSHOT.jar"
export BENCH_CP BENCH_GATEWAY_CP BENCH_MVC_CP BENCH_MVC_JETTY_CP SAMPLE_JAR ROOT
