#!/usr/bin/env bash
# npm start: installs what is missing, starts Kafka, migrates, starts the three services and a
# demo upstream, seeds a demo customer and prints the curl lines for a 200 and a 402.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$root"

ensure_deps
build
ensure_database
ensure_kafka
# A development token; set ADMIN_TOKEN to your own secret for anything but a local demo.
export ADMIN_TOKEN="${ADMIN_TOKEN:-paygate-dev-admin-token}"
# Bearer token(s) for POST /events (HTTP usage ingestion), comma-separated.
export SERVICE_TOKENS="${SERVICE_TOKENS:-paygate-dev-service-token}"
# The gRPC port's token: the entitlement service takes it (GRPC_TOKENS), the gateway sends it
# (ENTITLEMENT_GRPC_TOKEN, which sets both; GRPC_TOKENS alone replaces the service's list, as in
# a rotation). A development one unless set; 32+ characters.
grpc_token="${ENTITLEMENT_GRPC_TOKEN:-paygate-dev-grpc-token-not-for-production}"
node dist/scripts/setup.js

PORT=4000 start_process demo-upstream node dist/scripts/demo-upstream.js
# Stripe webhooks on, with a development secret (npm run stripe:event sends signed test events);
# set STRIPE_WEBHOOK_SECRET to your endpoint's whsec_… for a real Stripe account.
# The operator API on a port of its own (127.0.0.1:3011, OPERATOR_HTTP_HOST's default), never on
# 3001, which serves the billing page and webhooks and may be exposed: admin endpoints are
# never on a public port by default.
HTTP_PORT=3001 OPERATOR_HTTP_PORT=3011 BILLING_PAYMENT_PROVIDER=demo \
  STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_paygate_dev_only}" \
  GRPC_TOKENS="${GRPC_TOKENS:-$grpc_token}" start_process entitlement node dist/apps/entitlement/src/main.js
# Metering's operator API (meters, usage, dead letters) likewise on 127.0.0.1:3012; 3002 keeps
# /events for the services that report usage.
HTTP_PORT=3002 OPERATOR_HTTP_PORT=3012 start_process metering node dist/apps/metering/src/main.js
# The operator port listens last (after 3001 and gRPC): ready there, every listener is.
wait_ready entitlement http://127.0.0.1:3011/ready
# The demo routes add a priced route (/paid) paid with the offline test method; both are for a
# local demo only (docs/payments.md): set your own routes, secret and facilitators for real use.
export PAYMENT_CHALLENGE_SECRET="${PAYMENT_CHALLENGE_SECRET:-paygate-dev-challenge-secret-not-for-production}"
export PAYMENT_TEST_METHOD="${PAYMENT_TEST_METHOD:-true}"
HTTP_PORT=8080 DEMO_APP_DIR=dist/demo/spa ROUTES_FILE="${ROUTES_FILE:-$root/config/routes.demo.json}" \
  ENTITLEMENT_GRPC_TOKEN="$grpc_token" start_process gateway node dist/apps/gateway/src/main.js
wait_ready metering http://127.0.0.1:3012/ready
wait_ready gateway http://127.0.0.1:8080/ready
log "entitlement :3001 (billing page, webhooks) :3011 (operator API) :50051 (gRPC)," \
  "metering :3002 (/events) :3012 (operator API), gateway :8080, demo upstream :4000;" \
  "logs in $run_dir"

ENTITLEMENT_URL=http://127.0.0.1:3011 GATEWAY_URL=http://127.0.0.1:8080 DEMO_CREDITS=3 DEMO_PAY_PER_CALL=true \
  node dist/scripts/seed-demo.js
log "stop everything with: npm run stop"
