#!/usr/bin/env bash
# Runs a real single-node Apache Kafka 3.9 broker (KRaft, broker+controller) on 127.0.0.1
# from the Maven Central artifacts. Idempotent: `up` reuses a broker that already answers.
#   scripts/kafka.sh up|down|status
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PAYGATE_CACHE:-$root/.cache}"
libs="$cache/kafka/libs"
state="$cache/kafka/state"
port="${KAFKA_PORT:-9092}"
ctl_port="${KAFKA_CONTROLLER_PORT:-9093}"
# A fixed cluster id keeps re-formatting deterministic; the data dir is local to this checkout.
cluster_id="cGF5Z2F0ZS1sb2NhbC0x"

log() { echo "[kafka] $*" >&2; }

resolve() {
  if [ -f "$libs/.complete" ]; then return; fi
  log "resolving org.apache.kafka:kafka_2.13 from Maven Central into $libs"
  mkdir -p "$libs"
  mvn -B -q -f "$root/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$libs" -DincludeScope=runtime
  touch "$libs/.complete"
}

answers() {
  # "Up" means a metadata request answers, not that a process exists.
  # The cheap port probe first: a JVM start per poll would slow the wait loop.
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
  timeout 20 java -cp "$libs/*" -Dlog4j.configuration="file:$state/tools-log4j.properties" \
    org.apache.kafka.tools.ClusterTool cluster-id --bootstrap-server "127.0.0.1:$port" 2>/dev/null | grep -q "Cluster ID"
}

write_config() {
  mkdir -p "$state/data"
  cat > "$state/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctl_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$state/data
num.partitions=6
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
  cat > "$state/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$state/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
  printf 'log4j.rootLogger=ERROR, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n' \
    > "$state/tools-log4j.properties"
}

up() {
  resolve
  write_config
  if answers; then log "already running on 127.0.0.1:$port"; return; fi
  if [ ! -f "$state/data/meta.properties" ]; then
    log "formatting KRaft storage"
    java -cp "$libs/*" -Dlog4j.configuration="file:$state/tools-log4j.properties" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$state/server.properties" --ignore-formatted >/dev/null
  fi
  log "starting broker on 127.0.0.1:$port (log: $state/server.log)"
  KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
  # setsid detaches the broker from this shell's process group so it outlives the script.
  # C1 only (TieredStopAtLevel=1): this broker shares a small machine's cores with the whole
  # stack, and C2's compiler threads were a third of its CPU under load after a start (43 % still
  # 25 minutes on), while C1's code served that load with no more request-thread CPU
  # (docs/benchmarks.md).
  # Kafka's own variable, so the usual tuning overrides it.
  KAFKA_JVM_PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:TieredStopAtLevel=1}"
  setsid nohup java $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$state/log4j.properties" -Dkafka.logs.dir="$state" \
    -cp "$libs/*" kafka.Kafka "$state/server.properties" >"$state/stdout.log" 2>&1 < /dev/null &
  echo $! > "$state/pid"
  for _ in $(seq 1 90); do
    if answers; then log "up"; return; fi
    if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      log "broker exited; last log lines:"; tail -n 30 "$state/server.log" "$state/stdout.log" >&2 || true; exit 1
    fi
    sleep 1
  done
  log "broker did not answer within 90s"; exit 1
}

down() {
  if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
    local pid; pid="$(cat "$state/pid")"
    log "stopping broker (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$state/pid"
  else
    log "not running (from this checkout)"
  fi
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  restart)
    # Only a broker this checkout runs can be restarted; anything else would be a silent no-op.
    if ! { [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }; then
      log "no broker of this checkout is running; refusing to restart"; exit 1
    fi
    down; up ;;
  status) resolve; write_config; if answers; then echo "up"; else echo "down"; exit 1; fi ;;
  *) echo "usage: $0 up|down|restart|status" >&2; exit 2 ;;
esac
