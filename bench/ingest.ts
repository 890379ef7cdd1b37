/**
 * bench/ingest: sustained usage ingestion through the real metering service (its own process,
 * real Kafka and Postgres, dedupe on), from the first publish to the last rollup committed,
 * and event → usage.recorded latency. Baseline in the same run: the same events through the
 * same broker into a consumer that does nothing (the transport's own ceiling).
 * The load is published by kcat (librdkafka) unless BENCH_PUBLISHER=kafkajs: publishers are
 * other services, elsewhere in production; on these two shared cores kafkajs' producer costs
 * about as much CPU per event as the metering service, so it would measure mostly itself.
 *   npm run bench   (BENCH_EVENTS, BENCH_CUSTOMERS, BENCH_PUBLISHER, DATABASE_URL, KAFKA_BROKERS)
 */
import 'reflect-metadata';
import { topicNames, type UsageRecordedEvent } from '@paygate/contracts';
import {
  BatchConsumer,
  MessageProducer,
  OutboundMessage,
  createKafka,
  deleteTopics,
  ensureTopics,
  startGroupAtEnd,
} from '@paygate/messaging';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { runCustomerPrefix, usageLoad } from './load/usage-events';
import {
  ProcessGroups,
  cpuPerUnit,
  measureCpu,
  pidsMatching,
  reapedChildrenSeconds,
} from './support/cpu';
import { sleep, startService, stopProcess, waitReady } from './support/processes';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 300_000);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 200);
const PACED_RATE = Number(process.env.BENCH_PACED_RATE ?? 10_000);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 10);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/paygate_bench';
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const METERING_PORT = 13902;
const PUBLISHER = process.env.BENCH_PUBLISHER === 'kafkajs' ? 'kafkajs' : 'kcat';
const scratch = mkdtempSync(join(tmpdir(), 'paygate-bench-ingest-'));

/**
 * Publishes the messages (all of one topic) and resolves once the broker has them all. For
 * kcat they are written to a file first (key TAB value per line: JSON has neither raw), so
 * the timed part is kcat's producing alone.
 */
function publisher(messages: OutboundMessage[]): () => Promise<void> {
  if (PUBLISHER === 'kafkajs') return () => publishWithKafkajs(messages);
  const file = join(scratch, `${randomUUID()}.tsv`);
  writeFileSync(file, messages.map((m) => `${m.key}\t${m.value.toString()}`).join('\n') + '\n');
  return () =>
    new Promise<void>((resolve, reject) => {
      const args = ['-P', '-b', BROKERS.join(','), '-t', messages[0].topic, '-K', '\t'];
      const child = spawn('kcat', [...args, '-X', 'linger.ms=5', '-l', file], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.on('error', reject);
      child.on('exit', (code) => {
        rmSync(file, { force: true });
        if (code === 0) resolve();
        else reject(new Error(`kcat exited with ${code}`));
      });
    });
}

async function publish(messages: OutboundMessage[]): Promise<void> {
  await publisher(messages)();
}

async function publishWithKafkajs(messages: OutboundMessage[]): Promise<void> {
  const producer = new MessageProducer(createKafka('bench-ingest-producer', BROKERS));
  await producer.connect();
  const chunk = 5000;
  for (let i = 0; i < messages.length; i += chunk) {
    await producer.sendBatch(messages.slice(i, i + chunk));
  }
  await producer.disconnect();
}

/** The transport alone: publish and consume the same messages, doing nothing with them. */
async function baseline(messages: OutboundMessage[], topic: string): Promise<number> {
  const kafka = createKafka('bench-ingest-baseline', BROKERS);
  const groupId = `bench-baseline-${randomUUID()}`;
  const consumer = new BatchConsumer(kafka, { groupId, topic });
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.start(async (batch) => {
    seen += batch.length;
    if (seen >= messages.length) done();
  });
  await sleep(3000); // joined and assigned
  const send = publisher(messages);
  const started = Date.now();
  await send();
  await finished;
  const seconds = (Date.now() - started) / 1000;
  await consumer.stop();
  return messages.length / seconds;
}

function startMetering(groupId: string, topic: string, kafkaPrefix: string): ChildProcess {
  // BENCH_METERING_NODE_ARGS="--cpu-prof" profiles the service under load.
  const nodeArgs = (process.env.BENCH_METERING_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return startService(
    'metering',
    {
      DATABASE_URL,
      KAFKA_BROKERS: BROKERS.join(','),
      HTTP_PORT: String(METERING_PORT),
      KAFKA_PREFIX: kafkaPrefix,
      USAGE_GROUP_ID: groupId,
      USAGE_TOPIC: topic,
    },
    nodeArgs,
  );
}

const waitMetering = () => waitReady(`http://127.0.0.1:${METERING_PORT}/ready`, 'metering');

const percentile = (sorted: { ms: number; weight: number }[], q: number): number => {
  const total = sorted.reduce((s, x) => s + x.weight, 0);
  let acc = 0;
  for (const x of sorted) {
    acc += x.weight;
    if (acc >= q * total) return x.ms;
  }
  return sorted[sorted.length - 1]?.ms ?? NaN;
};

/** Polls until the rollups hold `expected` events of the customers of the run `runId`. */
async function waitCommitted(db: Client, runId: string, expected: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    const { rows } = await db.query(
      `SELECT COALESCE(SUM("event_count"), 0)::bigint AS n FROM "metering"."rollups"
       WHERE "customer_id" LIKE $1 AND "meter_key" = 'api_requests'`,
      [`${runCustomerPrefix(runId)}%`],
    );
    if (Number(rows[0].n) >= expected) return;
    if (Date.now() - started > 600_000) throw new Error(`stalled at ${rows[0].n} of ${expected}`);
    await sleep(100);
  }
}

/** Where the usage.recorded watcher hands messages of the paced phase. */
let pacedSink: (event: UsageRecordedEvent, now: number) => void = () => undefined;

async function main(): Promise<void> {
  const runId = `bench-${randomUUID().slice(0, 8)}`;
  // Topics of its own (metering's outputs too, through KAFKA_PREFIX): nothing else consumes
  // the load or its usage.recorded, and they are gone afterwards.
  const kafkaPrefix = `${runId}.`;
  const deployment = topicNames(kafkaPrefix);
  const topics = {
    baseline: `${deployment.usage}-baseline`,
    live: `${deployment.usage}-live`,
    backlog: `${deployment.usage}-backlog`,
    recorded: deployment.usageRecorded,
    deadLetters: deployment.usageDeadLetter,
    // Metering's customer directory reads it (customers announced by the entitlement service);
    // nothing is published to it here, but without it metering exits at start-up.
    entitlementChanged: deployment.entitlementChanged,
  };
  const kafka = createKafka('bench-ingest', BROKERS);
  await ensureTopics(
    kafka,
    Object.values(topics).map((name) => ({ name, partitions: 6 })),
  );
  const shape = { events: EVENTS, customers: CUSTOMERS, duplicateShare: 0.05, malformedShare: 0 };
  const recordedGroup = `bench-recorded-${randomUUID()}`;
  const recorded = new BatchConsumer(kafka, {
    groupId: recordedGroup,
    topic: topics.recorded,
  });
  const db = new Client({ connectionString: DATABASE_URL });
  let metering: ChildProcess | undefined;
  try {
    await db.connect();
    const warm = usageLoad({ ...shape, runId: `${runId}w`, topic: topics.baseline });
    console.log(
      `bench/ingest: ${EVENTS} events (${warm.duplicates} duplicates), ${CUSTOMERS} customers, one metering process, published by ${PUBLISHER}`,
    );
    const transport = await baseline(warm.messages, topics.baseline);

    // Live: publishing and ingestion at once, first publish → last rollup committed.
    await startGroupAtEnd(kafka, recordedGroup, topics.recorded);
    const latencies: { ms: number; weight: number }[] = [];
    const liveRun = `${runId}l`;
    const liveCustomers = runCustomerPrefix(liveRun);
    await recorded.start(async (batch) => {
      const now = Date.now();
      for (const m of batch) {
        const event = JSON.parse(m.value!.toString()) as UsageRecordedEvent;
        pacedSink(event, now);
        if (!event.customerId.startsWith(liveCustomers)) continue;
        // Upper bound for the message's events: it is as late as its earliest event.
        latencies.push({ ms: now - Date.parse(event.firstEventAt), weight: event.quantity });
      }
    });
    metering = startMetering(`bench-metering-${runId}-live`, topics.live, kafkaPrefix);
    const groups: ProcessGroups = {
      // This process watches usage.recorded and the rollups (and publishes with kafkajs).
      bench: () => [process.pid],
      metering: () => (metering?.pid ? [metering.pid] : []),
      kafka: () => pidsMatching(/kafka\.Kafka/),
      postgres: () => pidsMatching(/^postgres/),
    };
    await waitMetering();
    await sleep(3000); // the consumer joined its group
    // Event times are made just before publishing, so latency counts from each event's making.
    const live = usageLoad({ ...shape, runId: liveRun, topic: topics.live });
    const sendLive = publisher(live.messages);
    let started = Date.now();
    let cpuUntil = measureCpu(groups);
    const reapedBefore = reapedChildrenSeconds();
    const publishing = sendLive();
    await waitCommitted(db, liveRun, live.uniqueEvents);
    const liveRate = EVENTS / ((Date.now() - started) / 1000);
    await publishing; // kcat has exited and been reaped: its CPU is this process's children's
    const liveCpu = cpuUntil();
    if (PUBLISHER === 'kcat') liveCpu.kcat = reapedChildrenSeconds() - reapedBefore;
    const units = sumUnits(live.expectedUnits);
    const waitFrom = Date.now();
    while (latencies.reduce((s, l) => s + l.weight, 0) < units && Date.now() - waitFrom < 30_000) {
      await sleep(100);
    }
    latencies.sort((a, b) => a.ms - b.ms);

    // Paced: a steady rate below capacity, so latency is the pipeline's, not a backlog's.
    const pacedRun = `${runId}p`;
    const paced: { ms: number; weight: number }[] = [];
    // Each tick's customers are a run of their own (below): known by their prefix.
    const pacedCustomers = new Set<string>();
    const prefixLength = runCustomerPrefix('').length;
    pacedSink = (event, now) => {
      if (pacedCustomers.has(event.customerId.slice(0, prefixLength))) {
        paced.push({ ms: now - Date.parse(event.firstEventAt), weight: event.quantity });
      }
    };
    const producer = new MessageProducer(createKafka('bench-ingest-paced', BROKERS));
    await producer.connect();
    let pacedUnits = 0;
    const ticks = PACED_SECONDS * 10;
    const tickStart = Date.now();
    for (let tick = 0; tick < ticks; tick++) {
      // Each tick's events are made at its own time (and for customers of their own).
      pacedCustomers.add(runCustomerPrefix(`${pacedRun}${tick}`));
      const load = usageLoad({
        ...shape,
        events: PACED_RATE / 10,
        customers: 20,
        runId: `${pacedRun}${tick}`,
        topic: topics.live,
      });
      pacedUnits += sumUnits(load.expectedUnits);
      await producer.sendBatch(load.messages);
      await sleep(Math.max(0, tickStart + (tick + 1) * 100 - Date.now()));
    }
    await producer.disconnect();
    const pacedFrom = Date.now();
    while (
      paced.reduce((s, l) => s + l.weight, 0) < pacedUnits &&
      Date.now() - pacedFrom < 30_000
    ) {
      await sleep(100);
    }
    paced.sort((a, b) => a.ms - b.ms);
    await stopProcess(metering);

    // Backlog: the same load published first, then drained by a starting consumer.
    const backlogRun = `${runId}b`;
    const backlog = usageLoad({ ...shape, runId: backlogRun, topic: topics.backlog });
    await publish(backlog.messages);
    metering = startMetering(`bench-metering-${runId}-backlog`, topics.backlog, kafkaPrefix);
    // Timed from the first committed batch: process start and the group join are not ingest.
    await waitCommitted(db, backlogRun, 1);
    started = Date.now();
    cpuUntil = measureCpu(groups);
    await waitCommitted(db, backlogRun, backlog.uniqueEvents);
    const drainRate = EVENTS / ((Date.now() - started) / 1000);
    const drainCpu = cpuUntil();

    console.log(
      `  transport baseline (publish → no-op consumer): ${transport.toFixed(0)} events/s`,
    );
    console.log(
      `  ingest live (publish → rollups committed, dedupe on): ${liveRate.toFixed(0)} events/s`,
    );
    console.log(`      CPU per event: ${cpuPerUnit(liveCpu, EVENTS, 1)}`);
    console.log(`  ratio live/transport: ${(liveRate / transport).toFixed(2)}`);
    console.log(
      `  ingest backlog drain (first → last batch committed): ${drainRate.toFixed(0)} events/s`,
    );
    console.log(`      CPU per event: ${cpuPerUnit(drainCpu, EVENTS, 1)}`);
    console.log(
      `  event → usage.recorded latency (live, with its backlog): p50 ${percentile(latencies, 0.5)} ms, p99 ${percentile(latencies, 0.99)} ms`,
    );
    console.log(
      `  event → usage.recorded latency (paced ${PACED_RATE} events/s for ${PACED_SECONDS} s): p50 ${percentile(paced, 0.5)} ms, p99 ${percentile(paced, 0.99)} ms`,
    );
  } finally {
    await stopProcess(metering);
    await recorded.stop();
    await db.end().catch(() => undefined);
    await deleteTopics(kafka, Object.values(topics));
    rmSync(scratch, { recursive: true, force: true });
  }
}

const sumUnits = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
