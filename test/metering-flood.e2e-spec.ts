import { DEAD_LETTER_HEADERS } from '@paygate/contracts';
import { MessageProducer, createKafka, ensureTopics } from '@paygate/messaging';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Client } from 'pg';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { testConfig } from '../libs/testing/src/test-config';
import { committedLetters } from './support/dead-letter-topic';
import { query } from './support/database';
import { ADMIN_TOKEN, Stack, eventually } from './support/stack';

/** This run's topics (test/support/global-setup.ts gives each run a prefix of its own). */
const topics = testConfig().topics;

// JSON bodies are read field by field, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const brokers = testConfig().kafkaBrokers;

/** Messages on `topic` the group has not committed past: the consumer group's lag. */
async function groupLag(groupId: string, topic: string): Promise<number> {
  const admin = createKafka('e2e-flood-admin', brokers).admin();
  await admin.connect();
  try {
    const [highs, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    let lag = 0;
    for (const h of highs) {
      const c = committed.partitions.find((p) => p.partition === h.partition);
      const from = c && Number(c.offset) >= 0 ? Number(c.offset) : Number(h.low);
      lag += Number(h.high) - from;
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/** Lines through kcat (librdkafka), the way a non-Node publisher would send them. */
function kcatPublish(topic: string, lines: string[]): void {
  execFileSync('kcat', ['-P', '-b', brokers.join(','), '-t', topic, '-K', '\t', '-z', 'none'], {
    input: lines.join('\n') + '\n',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000,
  });
}

/**
 * No input can stop metering (issue: a burst of unmetered events once stopped it for good):
 * a flood of events no meter reads, messages near the broker's size limit and malformed bytes,
 * interleaved with real gateway traffic on the same topic, is applied or dead-lettered message
 * by message; and a consumer that does stall is reported by /ready, a gauge and an alert.
 */
describe('metering under a flood of unmetered, oversized and malformed messages (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 14521,
      entitlementGrpc: 16551,
      metering: 14522,
      gateway: 19580,
      upstream: 14530,
    },
    'flood-',
  );
  const alertPort = 14531;
  const alerts: Json[] = [];
  let alertReceiver: Server;
  const runId = randomUUID().slice(0, 8);
  const topic = `${topics.usage}.e2e-flood-${runId}`;
  const usageGroupId = `e2e-flood-${runId}`;
  // The group as the service names it: the run's KAFKA_PREFIX before USAGE_GROUP_ID.
  const groupId = testConfig().kafkaPrefix + usageGroupId;
  let upstream: Awaited<ReturnType<typeof startDemoUpstream>>;
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const getJson = async (url: string): Promise<Json> =>
    (await fetch(url, { headers: admin })).json();

  beforeAll(async () => {
    alertReceiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        alerts.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => alertReceiver.listen(alertPort, '127.0.0.1', resolve));
    await ensureTopics(createKafka('e2e-flood-admin', brokers), [{ name: topic, partitions: 6 }]);
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement', 'metering', 'gateway'], {
      USAGE_TOPIC: topic,
      USAGE_GROUP_ID: usageGroupId,
      CONSUMER_STALL_SECONDS: '10',
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${alertPort}/alerts`,
      ALERT_WEBHOOK_SECRET: 'e2e-flood-alert-secret-0123',
    });
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
    await new Promise((resolve) => alertReceiver?.close(resolve));
  });

  it('applies or dead-letters every message and keeps up: lag 0 within 60 s, 1,000 served requests metered and settled', async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 1000, 'Flood');
    const unmatchedType = `dev.paygate.e2e.unmatched.${runId}`;
    const unmetered = (i: number) =>
      JSON.stringify({
        specversion: '1.0',
        id: `flood-${runId}-${i}`,
        source: 'e2e-flood',
        type: unmatchedType,
        subject: `00000000-0000-4000-8000-${(i % 50).toString(16).padStart(12, '0')}`,
        time: new Date().toISOString(),
        data: { i },
      });
    const producer = new MessageProducer(createKafka('e2e-flood', brokers));
    await producer.connect();

    // Gateway traffic, 8 in flight, during the whole flood.
    const gatewayLoad = (async () => {
      const statuses: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < 1000) {
            next += 1;
            const response = await fetch(`${stack.url('gateway')}/demo/hello`, {
              headers: { 'x-api-key': demo.apiKey },
            });
            await response.arrayBuffer();
            statuses.push(response.status);
          }
        }),
      );
      return statuses;
    })();

    const flood = (async () => {
      // 100,000 unmetered events: half through kcat, half through kafkajs, in slices so
      // they interleave with the rest.
      for (let slice = 0; slice < 10; slice++) {
        const base = slice * 10_000;
        kcatPublish(
          topic,
          Array.from({ length: 5_000 }, (_, i) => `k${i % 97}\t${unmetered(base + i)}`),
        );
        await producer.sendBatch(
          Array.from({ length: 5_000 }, (_, i) => ({
            topic,
            key: `k${i % 97}`,
            value: unmetered(base + 5_000 + i),
          })),
        );
        // 100 messages of ~900 KB (too large to meter, near the broker's limit)...
        for (let j = 0; j < 100; j += 10) {
          await producer.sendBatch(
            Array.from({ length: 10 }, (_, k) => ({
              topic,
              key: `big-${slice}-${j + k}`,
              value: JSON.stringify({
                specversion: '1.0',
                id: `big-${runId}-${slice}-${j + k}`,
                source: 'e2e-flood',
                type: 'dev.paygate.request.served',
                subject: demo.customerId,
                time: new Date().toISOString(),
                data: { pad: 'x'.repeat(900_000) },
              }),
            })),
          );
        }
        // ...and 100 malformed ones (bad JSON, raw bytes, NUL) through kcat.
        kcatPublish(
          topic,
          Array.from(
            { length: 100 },
            (_, i) =>
              `bad${i}\t${['{"specversion": "1.0", "id": ', 'not json', '\u0001\u0002{'][i % 3]}${slice}-${i}`,
          ),
        );
      }
    })();

    const [statuses] = await Promise.all([gatewayLoad, flood]);
    await producer.disconnect();
    const published = Date.now();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1000);

    await eventually(
      () => groupLag(groupId, topic),
      (lag) => lag === 0,
      60_000,
    );
    const drainedInMs = Date.now() - published;
    expect(drainedInMs).toBeLessThan(60_000);

    // Every served request metered once, every lease settled by it.
    const usage = await eventually(
      () =>
        getJson(
          `${stack.url('metering')}/v1/usage?customerId=${demo.customerId}&meterKey=api_requests`,
        ),
      (u) => u.total?.value >= 1000,
      60_000,
    );
    expect(usage.total).toEqual({ value: 1000, events: 1000 });
    const balance = await eventually(
      () => getJson(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`),
      (b) => b.reserved === 0,
      60_000,
    );
    expect(balance).toMatchObject({ available: 0, reserved: 0 });

    // Dead letters: exactly the malformed and the oversized messages, each once.
    const byReason = await query<{ reason: string; n: string; cut: string }>(
      `SELECT "reason", count(*) AS n, count(*) FILTER (WHERE "value_cut") AS cut
       FROM "metering"."dead_letters" WHERE "topic" = $1 GROUP BY 1 ORDER BY 1`,
      [topic],
    );
    expect(byReason).toEqual([
      { reason: 'malformed-json', n: '1000', cut: '0' },
      { reason: 'too-large', n: '1000', cut: '1000' },
    ]);
    const letters = committedLetters(topic).map((l) => ({
      coordinate: l.coordinate,
      reason: l.headers.get(DEAD_LETTER_HEADERS.reason) ?? '',
      cut: l.headers.get(DEAD_LETTER_HEADERS.valueCut) ?? '',
    }));
    expect(new Set(letters.map((l) => l.coordinate)).size).toBe(2000);
    expect(letters).toHaveLength(2000);
    expect(letters.filter((l) => l.reason === 'too-large' && l.cut === 'true')).toHaveLength(1000);

    // The unmetered events are counted, not errors.
    const unmatched = await getJson(`${stack.url('metering')}/v1/usage/unmatched`);
    expect(unmatched.types.find((t: Json) => t.eventType === unmatchedType)).toMatchObject({
      count: '100000',
    });
    const ready = await fetch(`${stack.url('metering')}/ready`);
    expect(ready.status).toBe(200);
  }, 420_000);

  it('reports a stalled consumer in /ready, a gauge and an alert within the stall time, and its recovery', async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 10, 'Stall');
    // Metering claims every metered event in this table: holding it locked stalls the consumer
    // while Postgres itself stays up (so /ready fails for the consumer, not for the database).
    const locker = new Client({ connectionString: testConfig().databaseUrl });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE "metering"."events" IN ACCESS EXCLUSIVE MODE');
    const stalledAt = Date.now();
    try {
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${stack.url('gateway')}/demo/hello`, {
          headers: { 'x-api-key': demo.apiKey },
        });
        expect(response.status).toBe(200);
      }
      const notReady = await eventually(
        async () => {
          const response = await fetch(`${stack.url('metering')}/ready`);
          return { status: response.status, body: (await response.json()) as Json };
        },
        (r) => r.status === 503,
        30_000,
      );
      expect(Date.now() - stalledAt).toBeLessThan((10 + 5) * 1000);
      expect(notReady.body).toMatchObject({
        status: 503,
        checks: { postgres: 'ok', 'usage-consumer': 'failing' },
      });
      expect(notReady.body.reasons['usage-consumer']).toMatch(
        /stalled \(partition \d+: \d+ unapplied/,
      );
      // The gauge says so too (set on every readiness probe and lag query).
      const stalledLine = new RegExp(
        `paygate_consumer_stalled\\{group="${groupId}",topic="[^"]+"\\} 1`,
      );
      await eventually(
        async () => (await fetch(stack.metricsUrl('metering'), { headers: admin })).text(),
        (metrics) => stalledLine.test(metrics),
        10_000,
      );
      // And the operator's webhook hears it while the stall lasts.
      await eventually(
        async () => alerts.filter((a) => a.group === groupId).map((a) => a.type),
        (types) => types.includes('consumer.stalled'),
        20_000,
      );
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    await eventually(
      async () => (await fetch(`${stack.url('metering')}/ready`)).status,
      (s) => s === 200,
      30_000,
    );
    // The alert webhook heard both, in order (queued once Postgres could take them).
    await eventually(
      async () => alerts.map((a) => a.type),
      (types) => types.includes('consumer.recovered'),
      30_000,
    );
    const ours = alerts.filter((a) => a.group === groupId);
    expect(ours.map((a) => a.type)).toEqual(['consumer.stalled', 'consumer.recovered']);
    expect(ours[0]).toMatchObject({ service: 'metering', consumer: 'usage-consumer', topic });
    expect(ours[0].lag).toBeGreaterThan(0);
    await sleep(0);
  }, 180_000);
});
