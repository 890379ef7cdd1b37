#!/usr/bin/env bash
# npm run bench: builds, prepares a bench database, and runs every benchmark in bench/.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$root"
ensure_deps
build
ensure_postgres
ensure_kafka
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/paygate_bench}"
# Topics and groups of their own (docs/deployment.md): a bench never touches npm start's.
export KAFKA_PREFIX="${KAFKA_PREFIX:-paygate-bench.}"
node dist/scripts/setup.js
node dist/bench/decision.js
node dist/bench/decision-scale.js
node dist/bench/lease-cycle.js
node --expose-gc dist/bench/scale.js
ensure_kcat # bench/ingest publishes with it
node dist/bench/ingest.js
# nginx (installing it may start the packaged service on :80; the bench runs its own) and wrk.
ensure_command wrk wrk
if ! command -v nginx >/dev/null 2>&1; then
  ensure_command nginx nginx-light
  service nginx stop >/dev/null 2>&1 || true
fi
node dist/bench/gateway.js
