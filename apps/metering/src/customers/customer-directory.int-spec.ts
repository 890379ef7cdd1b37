import {
  createKafka,
  deleteTopics,
  ensureTopics,
  MessageProducer,
  type OutboundMessage,
} from '@paygate/messaging';
import { testConfig, waitFor } from '@paygate/testing';
import { UsageIngestFixture } from '@test/usage-ingest.fixture';
import { randomBytes, randomUUID } from 'node:crypto';
import { MeteringConfig } from '../config/metering.config';
import { meteringDataSource } from '../database/metering.data-source';
import { CustomerDirectory } from './customer-directory';
import { knownCustomers } from './known-customers.repository';

/**
 * The customers consumer against what Postgres refuses in a customer id: a NUL (22021) and an
 * id past the primary key's 2,704-byte index row (54000, random so that it does not compress).
 * Either used to fail its batch on every delivery, so the customers after it on the partition
 * never became known and the usage held for them was never released.
 */
describe('CustomerDirectory (real Postgres and Kafka)', () => {
  let fx: UsageIngestFixture;
  const brokers = testConfig().kafkaBrokers;
  // A deployment of its own: its entitlement.changed topic holds only this test's messages.
  const config = Object.assign(new MeteringConfig(), {
    KAFKA_BROKERS: brokers,
    KAFKA_PREFIX: `${testConfig().kafkaPrefix}customers-${randomUUID().slice(0, 8)}.`,
  });
  const topic = config.topics.entitlementChanged;
  const kafka = createKafka('itest-customers', brokers);
  const producer = new MessageProducer(kafka);
  const nul = 'a\u0000b';
  const long = () => randomBytes(2200).toString('base64');

  beforeAll(async () => {
    fx = await UsageIngestFixture.open();
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await deleteTopics(kafka, [topic]).catch(() => undefined);
    await fx.close();
  });

  const created = (customerId: string): OutboundMessage => ({
    topic,
    key: 'k',
    value: JSON.stringify({
      id: randomUUID(),
      customerId,
      reason: 'customer-created',
      occurredAt: new Date().toISOString(),
    }),
  });

  /** Holds one event for the customer (policy hold), to be released when it is announced. */
  const hold = async (customer: string) => {
    const held = [fx.message(fx.event(customer, 'held', 1))];
    expect((await fx.holdingIngest.ingest(held)).counts).toMatchObject({ held: 1 });
  };
  const heldFor = async (customer: string) => {
    const [{ n }] = await fx.dataSource.query(
      `SELECT count(*)::int AS n FROM "metering"."held_events" WHERE "subject" = $1`,
      [customer],
    );
    return n as number;
  };

  it('skips customer ids Postgres refuses: the customers behind them become known', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await hold(b);
    await producer.sendBatch([
      created(nul),
      created(long()),
      { topic, key: 'k', value: 'not json' },
      created(a),
      created(b),
    ]);
    const directory = new CustomerDirectory(fx.dataSource, config);
    await directory.onApplicationBootstrap();
    try {
      await waitFor(() => directory.isKnown(a) && directory.isKnown(b), { timeoutMs: 30_000 });
    } finally {
      await directory.onApplicationShutdown();
    }
    expect((await knownCustomers.among(fx.dataSource, [a, b])).sort()).toEqual([a, b].sort());
    // B's usage was held until it was announced; now it is on its way back to the usage topic.
    expect(await heldFor(b)).toBe(0);
    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: directory.groupId, topics: [topic] });
    await admin.disconnect();
    expect(committed.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '5' })]);
  });

  it('announces every other id when the database refuses one, wherever it is', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) await hold(id);
    const directory = new CustomerDirectory(fx.dataSource, config);
    // Straight to announce: ids handle() would have skipped, so what Postgres refuses is met.
    const released = await directory.announce([ids[0], nul, ids[1], long(), ids[2]]);
    expect(released).toBe(3);
    expect((await knownCustomers.among(fx.dataSource, ids)).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await heldFor(id)).toBe(0);
    expect(ids.every((id) => directory.isKnown(id))).toBe(true);
    expect(directory.isKnown(nul)).toBe(false);
  });

  it('throws a failure that is not the id’s, for the batch to be retried', async () => {
    const customer = randomUUID();
    // A pool whose statements give up on a lock after 200 ms (55P03: not the content's fault).
    const url = new URL(testConfig().databaseUrl);
    url.searchParams.set('options', '-c lock_timeout=200');
    const impatient = await meteringDataSource(url.toString(), 1).initialize();
    const runner = fx.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [
        `hold:customer:${customer}`,
      ]);
      const directory = new CustomerDirectory(impatient, config);
      await expect(directory.announce([customer])).rejects.toMatchObject({
        driverError: expect.objectContaining({ code: '55P03' }),
      });
      expect(directory.isKnown(customer)).toBe(false);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
      await impatient.destroy();
    }
  });
});
