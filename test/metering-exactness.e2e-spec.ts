import { MessageProducer, OutboundMessage, createKafka, ensureTopics } from '@paygate/messaging';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { UsageLoad, prng, runCustomerPrefix, usageLoad } from '../bench/load/usage-events';
import { testConfig } from '../libs/testing/src/test-config';
import { committedLetters } from './support/dead-letter-topic';
import { query } from './support/database';
import { Stack, eventually } from './support/stack';

/** This run's topics (test/support/global-setup.ts gives each run a prefix of its own). */
const topics = testConfig().topics;

const root = join(__dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes in chunks, re-sending a chunk until the broker takes it (it may be restarting). */
async function publish(messages: OutboundMessage[]): Promise<void> {
  const producer = new MessageProducer(createKafka('e2e-exactness', testConfig().kafkaBrokers));
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 2000) {
      for (;;) {
        try {
          await producer.sendBatch(messages.slice(i, i + 2000));
          break;
        } catch {
          // A re-sent chunk may duplicate messages on the topic: the consumer dedupes them.
          await sleep(500);
        }
      }
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

async function unitsByCustomer(runId: string): Promise<Map<string, number>> {
  const rows = await query<{ customer_id: string; units: string }>(
    `SELECT "customer_id", SUM("value_sum")::bigint AS units FROM "metering"."rollups"
     WHERE "customer_id" LIKE $1 AND "meter_key" = 'api_requests' GROUP BY 1`,
    [`${runCustomerPrefix(runId)}%`],
  );
  return new Map(rows.map((r) => [r.customer_id, Number(r.units)]));
}

async function groupMembers(groupId: string): Promise<number> {
  const admin = createKafka('e2e-exactness-admin', testConfig().kafkaBrokers).admin();
  await admin.connect();
  try {
    // The services put the run's KAFKA_PREFIX before the USAGE_GROUP_ID they are given.
    const { groups } = await admin.describeGroups([testConfig().kafkaPrefix + groupId]);
    return groups[0]?.members.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/** How far the run's rollups are from the expected totals: what a failing run needs to print. */
async function usageGap(runId: string, expected: Map<string, number>) {
  const actual = await unitsByCustomer(runId);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const customers = new Set([...actual.keys(), ...expected.keys()]);
  const differing = [...customers]
    .filter((c) => actual.get(c) !== expected.get(c))
    .map((c) => ({ customer: c, actual: actual.get(c) ?? 0, expected: expected.get(c) ?? 0 }));
  return {
    actualTotal: sum(actual),
    expectedTotal: sum(expected),
    differing: differing.slice(0, 10),
  };
}

const exact = (gap: { differing: unknown[] }) => gap.differing.length === 0;

/**
 * Every malformed message was dead-lettered exactly once in the dead_letters table, and is on
 * the DLQ topic exactly once as read_committed readers see it (sent in the transaction that
 * commits its offset).
 */
async function expectDeadLettered(topic: string, load: UsageLoad): Promise<void> {
  const [{ n }] = await query<{ n: string }>(
    `SELECT count(*) AS n FROM "metering"."dead_letters" WHERE "topic" = $1`,
    [topic],
  );
  expect(Number(n)).toBe(load.malformed);
  await eventually(
    async () => new Set(committedLetters(topic).map((l) => l.coordinate)).size,
    (distinct) => distinct >= load.malformed,
    120_000,
  );
  await sleep(2000); // a repeat sent late would be there by now
  const letters = committedLetters(topic).map((l) => l.coordinate);
  expect(new Set(letters).size).toBe(load.malformed);
  const repeated = letters.filter((o, i) => letters.indexOf(o) !== i);
  expect(repeated).toEqual([]);
}

/**
 * Exactly-once effect of usage ingestion under crashes: two metering instances share one
 * consumer group (so every kill is also a rebalance mid-batch), and the broker and Postgres are
 * restarted during ingestion. Final rollups must equal the expected sums exactly.
 */
describe('metering exactness under crashes and restarts (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 13601,
      entitlementGrpc: 15651,
      metering: 13602,
      gateway: 18680,
      upstream: 14600,
    },
    'exactness-',
  );
  const ports: Record<string, number> = { 'metering-a': 13611, 'metering-b': 13612 };

  const instanceEnv = (topic: string, groupId: string) => ({
    USAGE_TOPIC: topic,
    USAGE_GROUP_ID: groupId,
    // The broker's minimum: a killed instance's partitions move to the other one quickly.
    CONSUMER_SESSION_TIMEOUT_MS: '6000',
  });

  async function startMeterings(topic: string, groupId: string): Promise<void> {
    await Promise.all(
      Object.entries(ports).map(([name, port]) =>
        stack.startInstance(name, 'metering', port, {
          USAGE_TOPIC: topic,
          USAGE_GROUP_ID: groupId,
        }),
      ),
    );
  }

  async function newTopic(label: string): Promise<string> {
    const topic = `${topics.usage}.e2e-${label}-${randomUUID().slice(0, 8)}`;
    await ensureTopics(createKafka('e2e-exactness-admin', testConfig().kafkaBrokers), [
      { name: topic, partitions: 6 },
    ]);
    return topic;
  }

  afterEach(() => stack.stop());

  it('counts 200,000 events exactly through kill -9 of either instance at random points', async () => {
    const seed = Date.now() % 100_000;
    const random = prng(seed);
    const runId = `crash${randomUUID().slice(0, 8)}`;
    const topic = await newTopic('crash');
    const groupId = `e2e-crash-${runId}`;
    const load = usageLoad(
      { runId, topic, events: 200_000, customers: 50, duplicateShare: 0.05, malformedShare: 0.01 },
      seed,
    );
    await startMeterings(topic, groupId);
    const publishing = publish(load.messages);
    const kills: string[] = [];
    for (let i = 0; i < 4; i++) {
      await sleep(500 + Math.floor(random() * 2500));
      const name = random() < 0.5 ? 'metering-a' : 'metering-b';
      kills.push(name);
      await stack.kill(name, 'SIGKILL');
      await stack.startInstance(name, 'metering', ports[name], instanceEnv(topic, groupId));
    }
    await publishing;
    const expected = load.expectedUnits;
    await eventually(() => usageGap(runId, expected), exact, 240_000).catch((err: Error) => {
      throw new Error(`seed ${seed}, kills ${kills.join(',')}: ${err.message}`);
    });
    await sleep(2000); // nothing more arrives afterwards (no late double count)
    expect((await usageGap(runId, expected)).differing).toEqual([]);
    await expectDeadLettered(topic, load);
  }, 420_000);

  it('counts exactly through Postgres stopped for 30 s mid-stream, then a broker restart', async () => {
    const status = execFileSync('bash', [join(root, 'scripts', 'kafka.sh'), 'status'], {
      encoding: 'utf8',
    });
    // The broker is restarted with the project's script, so it must be the one it runs.
    expect(status).toMatch(/up/);
    const runId = `restart${randomUUID().slice(0, 8)}`;
    const topic = await newTopic('restart');
    const load = usageLoad({
      runId,
      topic,
      events: 60_000,
      customers: 20,
      duplicateShare: 0.05,
      malformedShare: 0.01,
    });
    const groupId = `e2e-restart-${runId}`;
    await startMeterings(topic, groupId);
    const third = Math.floor(load.messages.length / 3);
    await publish(load.messages.slice(0, third));
    const cluster = execFileSync('bash', ['-c', 'ls /etc/postgresql | head -n1'], {
      encoding: 'utf8',
    }).trim();
    const pg = (action: string) =>
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', action], {
        stdio: 'inherit',
      });
    pg('stop');
    const stoppedAt = Date.now();
    try {
      // Usage keeps arriving while the database is away; the consumers retry, with back-off.
      await publish(load.messages.slice(third, 2 * third));
      await sleep(Math.max(0, 30_000 - (Date.now() - stoppedAt)));
    } finally {
      pg('start');
    }
    execFileSync('bash', [join(root, 'scripts', 'kafka.sh'), 'restart'], { stdio: 'inherit' });
    const publishing = publish(load.messages.slice(2 * third));
    await publishing;
    await eventually(() => usageGap(runId, load.expectedUnits), exact, 240_000);
    await sleep(2000);
    expect((await usageGap(runId, load.expectedUnits)).differing).toEqual([]);
    // Strict here too: a transaction whose commit failed on the client during the restart is
    // resolved by the next producer of its partition (it fences the old one and waits for the
    // transaction to complete) and the committed-offset read that follows.
    await expectDeadLettered(topic, load);
    // Both consumers are back in the group: kafkajs stops a consumer for good on some errors
    // after a broker restart (e.g. "Failed to find group coordinator"); the other instance
    // would hide that by taking over every partition.
    await eventually(
      () => groupMembers(groupId),
      (members) => members === 2,
      60_000,
    );
    // And both say so: no stalled consumer, database reachable.
    for (const port of Object.values(ports)) {
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status,
        (s) => s === 200,
        60_000,
      );
    }
  }, 420_000);
});
