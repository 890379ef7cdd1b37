#!/usr/bin/env bash
# npm test: the whole suite (unit + integration + e2e) against the real Postgres and Kafka.
# Starts Kafka from the Maven artifacts unless KAFKA_BROKERS is set, and stops it again
# afterwards if it was this script that started it. Extra arguments go to Jest.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$root"

ensure_deps
ensure_kcat
ensure_chromium
build
ensure_postgres
started_kafka=""
if [ -z "${KAFKA_BROKERS:-}" ]; then
  if ! bash scripts/kafka.sh status >/dev/null 2>&1; then started_kafka="yes"; fi
  ensure_kafka
fi
cleanup() { if [ -n "$started_kafka" ]; then bash scripts/kafka.sh down; fi; }
trap cleanup EXIT

# Integration and e2e tests share one database and broker, so everything runs in band.
npx jest --runInBand "$@"
