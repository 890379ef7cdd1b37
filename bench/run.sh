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
node dist/scripts/setup.js
node dist/bench/decision.js
node dist/bench/ingest.js
