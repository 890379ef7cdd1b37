#!/usr/bin/env bash
# The docker-compose path, proven end to end (CI runs it after `npm test`; see docs/getting-started.md "With
# Docker"): build the image, bring the stack up, wait until every service is healthy, seed the
# demo customer, then from outside the containers: the demo key gets 200, 200, 200 and a 402
# problem, the operator APIs answer on their own ports 3011 and 3012 (published on 127.0.0.1
# only) and are a 404 problem on the public 3001 and 3002, Stripe webhooks work on 3001, a usage
# event POSTed to metering's /events shows up in the usage API; then the scale phase
# (scripts/compose-scale.js):
# metering scaled to 2 replicas, one SIGKILLed, back to 1, while usage events flow, and every
# distinct event counted exactly once;
# and `down` finishes within 10 s with every paygate service exiting 0. Cleans up (volumes too)
# whatever happens, and stops the Docker engine only if it started it.
#
# On a machine without an image registry the private engine and stand-in images of
# ../shared/containers are used (their README); a machine whose own Docker engine answers and
# can pull images needs none of it. Every wait has a timeout; any failed step exits non-zero.
#
#   bash scripts/compose-smoke.sh        (as root when ../shared/containers is used)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=$root/../shared/containers
project=${PAYGATE_SMOKE_PROJECT:-paygate-smoke}
# The suite's own credentials for this run (compose prefers them to a developer's .env).
export PAYGATE_ADMIN_TOKEN=smoke-admin-token-$RANDOM$RANDOM$RANDOM
export PAYGATE_SERVICE_TOKENS=smoke-service-token-$RANDOM$RANDOM$RANDOM
# 32 random hex digits: the gRPC token's least length, whatever $RANDOM gives.
export PAYGATE_GRPC_TOKEN=smoke-grpc-token-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export PAYGATE_POSTGRES_PASSWORD=smoke-pg-$RANDOM$RANDOM
export PAYGATE_BIND=127.0.0.1
export DEMO_CREDITS=3
GATEWAY=http://127.0.0.1:8080
# The entitlement service's public port (billing page, webhooks) and its operator API's port.
ENTITLEMENT_PUBLIC=http://127.0.0.1:3001
OPERATOR=http://127.0.0.1:3011
METERING=http://127.0.0.1:3002
METERING_OPERATOR=http://127.0.0.1:3012

t_start=$(date +%s)
timings=()
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }
log() { echo "[compose-smoke] $*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
# step NAME SECONDS CMD...: runs CMD with a timeout, records its time, fails loudly.
step() {
  local name=$1 limit=$2 t0 rc=0
  shift 2
  t0=$(now)
  log "$name"
  timeout --kill-after=10 "$limit" "$@" || rc=$?
  timings+=("$name: $(since "$t0") s")
  [ "$rc" = 0 ] || fail "$name (exit $rc$([ "$rc" = 124 ] && echo ", timed out after ${limit}s"))"
}

# operator_only NAME PUBLIC OPERATOR PATH: GET PATH with the admin token is the 404 problem of a
# path the public port does not have, and 200 on the operator port.
operator_only() {
  local name=$1 public=$2 operator=$3 path=$4 out status
  out=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{content_type}' \
    -H "Authorization: Bearer $PAYGATE_ADMIN_TOKEN" "$public$path") ||
    fail "GET $path on $public"
  [[ $out == "404 application/problem+json"* ]] ||
    fail "$name: the public port $public answered GET $path with $out, expected a 404 problem"
  status=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $PAYGATE_ADMIN_TOKEN" "$operator$path") ||
    fail "GET $path on $operator"
  [ "$status" = 200 ] || fail "$name: the operator port $operator answered GET $path with $status"
  log "$name: 404 problem on $public, 200 on $operator"
}

command -v curl >/dev/null || fail "curl is needed"
command -v node >/dev/null || fail "node is needed (JSON checks)"

# 1. An engine: one that answers already, else the private one of ../shared/containers.
started_engine=
use_shared=
private_sock=unix://${PAYGATE_DOCKER_HOME:-/var/tmp/paygate-docker}/run/docker.sock
if [ -d "$shared" ]; then
  use_shared=1
  # Ours from an earlier run, still up: reuse it (and leave it up).
  if [ -z "${DOCKER_HOST:-}" ] && ! timeout 20 docker info >/dev/null 2>&1 &&
    DOCKER_HOST=$private_sock timeout 20 docker info >/dev/null 2>&1; then
    export DOCKER_HOST=$private_sock
  fi
fi
if command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
  log "using the Docker engine that answers (${DOCKER_HOST:-default socket})"
elif [ -n "$use_shared" ]; then
  t0=$(now)
  engine_env=$(timeout 300 bash "$shared/engine-up") || fail "engine-up"
  eval "$engine_env"
  started_engine=1
  timings+=("engine-up: $(since "$t0") s")
else
  fail "no Docker engine answers and $shared is missing: this machine cannot run the stack" \
    "(install Docker with registry access, or provide ../shared/containers)"
fi
if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  fail "neither docker-compose nor the docker compose plugin is installed"
fi
files=(-f docker-compose.yml)
# The stand-ins' build override (npm ci needs the registry; their bridge has no route out).
[ -n "$use_shared" ] && files+=(-f "$shared/compose.build-host.yml")
dc=("${compose[@]}" -p "$project" "${files[@]}")

cleanup() {
  local rc=$?
  trap - EXIT
  if [ "$rc" != 0 ]; then
    log "state at failure:"
    timeout 30 "${dc[@]}" ps >&2 || true
    timeout 30 "${dc[@]}" logs --no-color --tail=40 >&2 || true
  fi
  timeout 120 "${dc[@]}" down -v --remove-orphans -t 10 \
    >/dev/null 2>&1 || log "cleanup: down -v failed"
  if [ -n "$started_engine" ]; then
    t0=$(now)
    timeout 120 bash "$shared/engine-down" >/dev/null 2>&1 || log "cleanup: engine-down failed"
    timings+=("engine-down: $(since "$t0") s")
  fi
  [ ${#timings[@]} = 0 ] || printf '[compose-smoke]   %s\n' "${timings[@]}" >&2
  if [ "$rc" = 0 ]; then
    log "passed in $(($(date +%s) - t_start)) s (cleanup included)"
  else
    log "FAILED after $(($(date +%s) - t_start)) s"
  fi
  exit "$rc"
}
trap cleanup EXIT

for port in 3001 3002 3011 3012 8080; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is in use (a running \`npm start\`? \`npm run stop\` first)"
  fi
done

# 2. Images and the stack. `up` returns once every dependency condition held; the services
# that nothing depends on are waited for below.
[ -n "$use_shared" ] && step "images-build (stand-ins)" 900 bash "$shared/images-build" .
step "docker-compose build" 900 "${dc[@]}" build
step "docker-compose up -d" 300 "${dc[@]}" up -d

services=(postgres kafka entitlement metering metering-lb metering-operator-lb demo-upstream gateway)
# Until every long-running service reports healthy; a service that exits or turns unhealthy
# fails at once.
wait_healthy() {
  local deadline=$(($(date +%s) + $1)) svc id status pending
  while :; do
    pending=()
    for svc in "${services[@]}"; do
      id=$(timeout 30 "${dc[@]}" ps -q "$svc" 2>/dev/null || true)
      status=$(timeout 30 docker inspect -f \
        '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' \
        "$id" 2>/dev/null || echo missing)
      case $status in
        healthy) ;;
        unhealthy | exited | dead | missing) fail "$svc is $status" ;;
        *) pending+=("$svc") ;;
      esac
    done
    [ ${#pending[@]} = 0 ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || fail "not healthy after $1 s: ${pending[*]}"
    sleep 1
  done
}
t0=$(now)
log "waiting for every service to be healthy"
wait_healthy 180
timings+=("all services healthy after up: $(since "$t0") s")

# Published where they should be: PAYGATE_BIND (127.0.0.1 here) for the public ports, and the
# operator APIs' 3011 and 3012 on 127.0.0.1 (PAYGATE_OPERATOR_BIND's default), not by
# PAYGATE_BIND.
for published in "entitlement 3001" "metering-lb 3002" "gateway 8080" "entitlement 3011" \
  "metering-operator-lb 3012"; do
  read -r svc port <<<"$published"
  bound=$(timeout 30 "${dc[@]}" port "$svc" "$port" 2>/dev/null) || bound=
  [ "$bound" = "127.0.0.1:$port" ] ||
    fail "$svc publishes $port as '$bound', expected 127.0.0.1:$port"
done
log "published on 127.0.0.1: 3001, 3002, 8080 and the operator ports 3011, 3012"

# 3. Seed: the demo customer and its key, printed by the seed service.
t0=$(now)
seed_out=$(timeout 120 "${dc[@]}" run --rm --no-deps -T seed 2>&1) ||
  { echo "$seed_out" >&2; fail "seed"; }
timings+=("seed: $(since "$t0") s")
key=$(grep -o "Bearer pg_[A-Za-z0-9_-]*" <<<"$seed_out" | head -1 | cut -d' ' -f2)
customer=$(grep -o "Demo customer [0-9a-f-]*" <<<"$seed_out" | head -1 | cut -d' ' -f3)
[ -n "$key" ] && [ -n "$customer" ] || { echo "$seed_out" >&2; fail "no key in the seed output"; }
log "demo customer $customer"

# 4. From outside: 200, 200, 200, then a 402 problem.
t0=$(now)
for expected in 200 200 200 402; do
  out=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{content_type}' \
    -H "Authorization: Bearer $key" "$GATEWAY/demo/hello") || fail "gateway request"
  [ "${out%% *}" = "$expected" ] || fail "gateway answered $out, expected $expected"
  if [ "$expected" = 402 ]; then
    [[ $out == *application/problem+json* ]] || fail "402 is not application/problem+json: $out"
  fi
  log "demo key: $out"
done
timings+=("200, 200, 200, 402: $(since "$t0") s")

# 5. Operator API on its own port: the customer's balance, as the seed's printed curl line
# gives it (the published 3011, seen from the host).
printed=$(grep -o "curl -s [^ ]*/v1/customers/$customer/balance" <<<"$seed_out" | head -1)
[ "$printed" = "curl -s http://localhost:3011/v1/customers/$customer/balance" ] ||
  { echo "$seed_out" >&2; fail "the seed's balance line is not on the operator port: $printed"; }
balance=$(curl -sS --max-time 10 -f -H "Authorization: Bearer $PAYGATE_ADMIN_TOKEN" \
  "$OPERATOR/v1/customers/$customer/balance") || fail "GET balance"
node -e 'const b=JSON.parse(process.argv[1]); if (typeof b.available !== "number") process.exit(1)' \
  "$balance" || fail "balance answer without an available balance: $balance"
log "operator API: balance $balance"

# 5a. The public port does not serve the operator API, admin token or not: the 404 problem of
# a path it does not have; the operator port answers the same request 200.
operator_only "operator API" "$ENTITLEMENT_PUBLIC" "$OPERATOR" /v1/customers

# 5b. Stripe webhooks are on with the development secret: a signed invoice.payment_failed
# moves the demo subscription to past_due, a signed invoice.paid back to active. Sent to the
# public port, as Stripe would (the seed service's ENTITLEMENT_URL is the operator port).
subscription=$(curl -sS --max-time 10 -f -H "Authorization: Bearer $PAYGATE_ADMIN_TOKEN" \
  "$OPERATOR/v1/customers/$customer/subscriptions" |
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8"))[0].id)') ||
  fail "GET subscriptions"
for change in "invoice.payment_failed past_due" "invoice.paid active"; do
  read -r type expected <<<"$change"
  out=$(timeout 60 "${dc[@]}" run --rm --no-deps -T -e ENTITLEMENT_URL=http://entitlement:3001 \
    seed node dist/scripts/stripe-test-event.js "$type" "$subscription" 2>&1) ||
    { echo "$out" >&2; fail "stripe webhook $type"; }
  [[ $out == *'"outcome":"applied"'* ]] || fail "stripe webhook $type answered: $out"
  status=$(curl -sS --max-time 10 -f -H "Authorization: Bearer $PAYGATE_ADMIN_TOKEN" \
    "$OPERATOR/v1/customers/$customer/subscriptions" |
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8"))[0].status)')
  [ "$status" = "$expected" ] || fail "after $type the subscription is $status, expected $expected"
  log "stripe webhook $type: subscription $status"
done

# 6. A usage event through metering's HTTP ingest, seen in the usage API together with the
# gateway's three: api_requests = 3 + 5.
event=$(node -e 'console.log(JSON.stringify({specversion:"1.0",id:"smoke-"+Date.now(),
  source:"compose-smoke",type:"dev.paygate.request.served",subject:process.argv[1],
  time:new Date().toISOString(),data:{units:5}}))' "$customer")
status=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X POST "$METERING/events" \
  -H "Authorization: Bearer $PAYGATE_SERVICE_TOKENS" \
  -H 'content-type: application/cloudevents+json' --data "$event") || fail "POST /events"
[ "$status" = 202 ] || fail "POST /events answered $status, expected 202"
t0=$(now)
usage=
for _ in $(seq 60); do
  usage=$(curl -sS --max-time 10 -H "Authorization: Bearer $PAYGATE_ADMIN_TOKEN" \
    "$METERING_OPERATOR/v1/usage?customerId=$customer&meterKey=api_requests") || true
  if node -e 'process.exit(JSON.parse(process.argv[1]).total?.value === 8 ? 0 : 1)' "$usage" \
    2>/dev/null; then break; fi
  usage_last=$usage
  usage=
  sleep 1
done
[ -n "$usage" ] || fail "usage API never showed 8 api_requests (3 served + 5 posted): ${usage_last:-}"
timings+=("usage seen: $(since "$t0") s")
log "usage API: $usage"

# 6a. Metering's operator API is not on its public port either: 404 problem on 3002, 200 on
# the operator port 3012.
operator_only "metering operator API" "$METERING" "$METERING_OPERATOR" /v1/meters

# 6b. Scaling (docs/getting-started.md "Scaling"): usage events flow through 127.0.0.1:3002 while metering goes
# from 1 to 2 replicas, one is SIGKILLed and compose scales back to 1; the usage API must then
# show every distinct event exactly once, and both replicas must have owned partitions.
step "scale phase (metering 1 → 2, SIGKILL, → 1)" 420 \
  env METERING_OPERATOR_URL="$METERING_OPERATOR" node scripts/compose-scale.js "$METERING" \
  "$customer" "${dc[@]}"

# 7. down: every paygate service exits 0 (graceful) and the whole stop takes at most 10 s.
events_log=$(mktemp)
timeout 60 docker events --filter "label=com.docker.compose.project=$project" --filter event=die \
  --format '{{index .Actor.Attributes "com.docker.compose.service"}} {{.Actor.Attributes.exitCode}} {{.TimeNano}}' \
  >"$events_log" 2>/dev/null &
events_pid=$!
sleep 1
t0=$(now)
timeout 60 "${dc[@]}" down -v --remove-orphans >/dev/null 2>&1 ||
  fail "docker-compose down"
down_s=$(since "$t0")
timings+=("docker-compose down -v: $down_s s")
sleep 1
kill "$events_pid" 2>/dev/null || true
wait "$events_pid" 2>/dev/null || true
log "exit code and stop time of each container (s after down began):" \
  "$(awk -v t0="$t0" '{ printf "%s %s +%.1f; ", $1, $2, $3 / 1e9 - t0 }' "$events_log")"
for svc in entitlement metering metering-lb metering-operator-lb gateway demo-upstream; do
  code=$(awk -v s="$svc" '$1 == s { print $2 }' "$events_log" | tail -1)
  [ "$code" = 0 ] || fail "$svc exited with ${code:-no exit seen} on down, expected 0"
done
rm -f "$events_log"
awk -v d="$down_s" 'BEGIN { exit !(d <= 10) }' || fail "down took $down_s s (more than 10 s)"

