import { topicNames, type Topics } from '@paygate/contracts';
import { createKafka } from '@paygate/messaging';
import { testConfig } from '@paygate/testing';
import { execFileSync } from 'node:child_process';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { DemoCustomer, seedDemoCustomer } from '../scripts/seed-demo';
import { dropTestDatabase } from './support/database';
import { ADMIN_TOKEN, RUN, Stack, eventually } from './support/stack';

// JSON bodies are checked field by field with matchers, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * Two deployments on one broker (KAFKA_PREFIX, docs/deployment.md "Several deployments on one broker"):
 * A is this run's (the run's prefix), B another one with a prefix of its own and its own
 * database. Both stacks use the same consumer-group names before the prefix (one test file,
 * one RUN id), so without the prefix they would share groups as well as topics. Each
 * deployment's usage is metered and charged by that deployment only, each one's messages are
 * on its own topics only, and the plain topics of an `npm start` on the same broker never see
 * either.
 */
describe('deployments on one broker never share topics (e2e)', () => {
  const config = testConfig();
  const prefixA = config.kafkaPrefix;
  // Starts with the run's prefix, so the run's teardown deletes B's topics and groups too.
  const prefixB = `${prefixA}b.`;
  const databaseB = (() => {
    const url = new URL(config.databaseUrl);
    url.pathname = `${url.pathname.slice(1)}_prefix_b_test`;
    return url.toString();
  })();

  const a = new Stack(
    {
      entitlementHttp: 17121,
      entitlementGrpc: 17151,
      metering: 17122,
      gateway: 17180,
      upstream: 17100,
    },
    'prefix-a-',
  );
  const b = new Stack(
    {
      entitlementHttp: 17131,
      entitlementGrpc: 17161,
      metering: 17132,
      gateway: 17190,
      upstream: 17101,
    },
    'prefix-b-',
  );
  const upstreams: Server[] = [];
  let customerA: DemoCustomer;
  let customerB: DemoCustomer;

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const getJson = async (url: string): Promise<Json> =>
    (await fetch(url, { headers: admin })).json();
  const serve = async (stack: Stack, key: string, times: number) => {
    for (let i = 0; i < times; i++) {
      const response = await fetch(`${stack.url('gateway')}/demo/hello`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(response.status).toBe(200);
    }
  };

  const dropDatabaseB = () => dropTestDatabase(databaseB);

  /** Every message of a topic as text (kcat, read to its end); '' for a topic that does not exist. */
  function topicText(topic: string): string {
    try {
      return execFileSync(
        'kcat',
        ['-C', '-b', config.kafkaBrokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q'],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 30,
          timeout: 120_000,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? '');
      if (/Unknown topic|UNKNOWN_TOPIC/i.test(stderr)) return '';
      throw err;
    }
  }

  beforeAll(async () => {
    upstreams.push((await startDemoUpstream(a.ports.upstream)).server);
    upstreams.push((await startDemoUpstream(b.ports.upstream)).server);
    await dropDatabaseB();
    // Deployment B is set up the way an operator sets one up: the setup script, its prefix.
    execFileSync(process.execPath, [join(__dirname, '..', 'dist', 'scripts', 'setup.js')], {
      stdio: 'inherit',
      env: {
        ...process.env,
        DATABASE_URL: databaseB,
        KAFKA_BROKERS: config.kafkaBrokers.join(','),
        KAFKA_PREFIX: prefixB,
      },
    });
    await a.start();
    await b.start(undefined, { DATABASE_URL: databaseB, KAFKA_PREFIX: prefixB });
    customerA = await seedDemoCustomer(a.url('entitlement'), ADMIN_TOKEN, 5, 'Prefix A');
    customerB = await seedDemoCustomer(b.url('entitlement'), ADMIN_TOKEN, 5, 'Prefix B');
  });

  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all(upstreams.map((s) => new Promise((resolve) => s.close(resolve))));
    await dropDatabaseB();
  });

  it("meters and charges each deployment's requests in that deployment only", async () => {
    await serve(a, customerA.apiKey, 2);
    await serve(b, customerB.apiKey, 1);

    for (const [stack, customer, served] of [
      [a, customerA, 2],
      [b, customerB, 1],
    ] as const) {
      const usage = await eventually(
        () =>
          getJson(
            `${stack.url('metering')}/v1/usage?customerId=${customer.customerId}&meterKey=api_requests`,
          ),
        (u) => u.total.value >= served,
      );
      expect(usage.total).toEqual({ value: served, events: served });
      const balance = await eventually(
        () => getJson(`${stack.url('entitlement')}/v1/customers/${customer.customerId}/balance`),
        (x) => x.reserved === 0,
      );
      expect(balance).toEqual({
        customerId: customer.customerId,
        available: 5 - served,
        reserved: 0,
      });
    }
    // Neither metering saw the other's customer: no usage, no dead letter, nothing unmatched.
    for (const [stack, stranger] of [
      [a, customerB],
      [b, customerA],
    ] as const) {
      const usage = await getJson(
        `${stack.url('metering')}/v1/usage?customerId=${stranger.customerId}&meterKey=api_requests`,
      );
      expect(usage.total).toEqual({ value: 0, events: 0 });
      const letters = JSON.stringify(await getJson(`${stack.url('metering')}/v1/dead-letters`));
      expect(letters).not.toContain(stranger.customerId);
    }
  });

  it("puts each deployment's messages on its own topics, and none on another's or the plain ones", async () => {
    const topicsA = topicNames(prefixA);
    const topicsB = topicNames(prefixB);
    const plain = topicNames('');
    const read = (topics: Topics) =>
      [topics.usage, topics.usageRecorded, topics.entitlementChanged].map((t) => ({
        topic: t,
        text: topicText(t),
      }));
    const seen = (topics: Topics, customer: DemoCustomer) =>
      read(topics)
        .filter((t) => t.text.includes(customer.customerId))
        .map((t) => t.topic);

    // Positive control: a customer's usage, usage.recorded and changes are on its deployment's.
    expect(seen(topicsA, customerA)).toEqual([
      topicsA.usage,
      topicsA.usageRecorded,
      topicsA.entitlementChanged,
    ]);
    expect(seen(topicsB, customerB)).toEqual([
      topicsB.usage,
      topicsB.usageRecorded,
      topicsB.entitlementChanged,
    ]);
    expect(seen(topicsA, customerB)).toEqual([]);
    expect(seen(topicsB, customerA)).toEqual([]);
    expect(seen(plain, customerA)).toEqual([]);
    expect(seen(plain, customerB)).toEqual([]);
  });

  it('names every consumer group of a deployment with its prefix', async () => {
    const admin = createKafka('e2e-prefix-groups', config.kafkaBrokers).admin();
    await admin.connect();
    try {
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      for (const [prefix, stack] of [
        [prefixA, a],
        [prefixB, b],
      ] as const) {
        // The two stacks' metering and entitlement groups have the same id (one RUN per file):
        // only the prefix keeps them apart.
        for (const group of [
          `paygate-gateway-${hostname()}-${stack.ports.gateway}`,
          `paygate-e2e-metering-${RUN}`,
          `paygate-e2e-metering-${RUN}-customers`,
          `paygate-e2e-entitlement-${RUN}`,
        ]) {
          expect(groups).toContain(`${prefix}${group}`);
          expect(groups).not.toContain(group);
        }
      }
    } finally {
      await admin.disconnect();
    }
  });
});
