#!/usr/bin/env bash
# npm run stop: stops the services started by npm start (and the embedded PostgreSQL if it
# started one), then the Kafka broker of this checkout.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
for name in gateway metering entitlement demo-upstream embedded-postgres; do stop_process "$name"; done
if [ "${1:-}" != "--keep-kafka" ]; then bash "$root/scripts/kafka.sh" down; fi
