import { USAGE_EVENT_LIMITS, type UsageRecordedEvent } from '@paygate/contracts';
import { FixedClock } from '@paygate/clock';
import { OutboxRelay } from '@paygate/database';
import { createKafka, MessageProducer, type InboundMessage } from '@paygate/messaging';
import { testConfig, waitFor } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { CustomerDirectory } from '../customers/customer-directory';
import { meteringDataSource } from '../database/metering.data-source';
import { MetersRepository } from '../meters/meters.repository';
import { MetersService } from '../meters/meters.service';
import { UnmatchedEventsRepository } from './unmatched-events.repository';
import { UsageIngestService } from './usage-ingest.service';
import { MAX_RECORDED_BYTES } from './usage-recorded';

/**
 * usage.recorded for a batch naming many long lease ids: it must reach Kafka whole (a message
 * past the outbound limit is parked by the relay, its usage in the rollups but never charged),
 * and a lease id past the contract's bound is dead-lettered instead of recorded.
 */
describe('usage.recorded of many long lease ids (real Postgres and Kafka)', () => {
  const kafka = createKafka('itest-usage-recorded', testConfig().kafkaBrokers);
  const producer = new MessageProducer(kafka);
  const topic = `${testConfig().kafkaPrefix}test-usage-recorded-${randomUUID()}`;
  const recordedTopic = testConfig().topics.usageRecorded;
  const config = Object.assign(new MeteringConfig(), {
    KAFKA_PREFIX: testConfig().kafkaPrefix,
    METER_REFRESH_MS: 60_000,
  });
  const clock = new FixedClock(new Date());
  const at = new Date(clock.now().getTime() - 60_000).toISOString();
  let dataSource: DataSource;
  let ingest: UsageIngestService;
  let meters: MetersService;
  let offset = 0;
  const customers: string[] = [];

  beforeAll(async () => {
    dataSource = await meteringDataSource(testConfig().databaseUrl, 4).initialize();
    const repository = new MetersRepository(dataSource, config);
    await repository.reload();
    ingest = new UsageIngestService(
      dataSource,
      repository,
      config,
      clock,
      new CustomerDirectory(dataSource, config),
      new UnmatchedEventsRepository(dataSource),
    );
    meters = new MetersService(dataSource, repository);
    await producer.connect();
  });

  afterAll(async () => {
    // Rows of this test left in the shared outbox (parked ones, without the fix).
    await dataSource.query(`DELETE FROM "metering"."outbox" WHERE "key" = ANY($1)`, [customers]);
    await producer.disconnect();
    await dataSource.destroy();
  });

  const setup = async () => {
    const customer = randomUUID();
    customers.push(customer);
    const type = `itest.recorded.${randomUUID()}`;
    const meterKey = `leased_${randomUUID().slice(0, 8)}`;
    await meters.create({ key: meterKey, eventType: type, aggregation: 'sum', valuePath: '$.n' });
    return { customer, type, meterKey };
  };

  const message = (customer: string, type: string, n: number, leaseid: string) =>
    ({
      topic,
      partition: 0,
      offset: String(++offset),
      key: null,
      value: Buffer.from(
        JSON.stringify({
          specversion: '1.0',
          id: `${customer}/${offset}`,
          source: 'itest',
          type,
          subject: customer,
          time: at,
          leaseid,
          data: { n },
        }),
      ),
      headers: {},
      timestamp: '0',
    }) satisfies InboundMessage;

  /** The longest lease id the contract takes, of the most UTF-8 bytes (3 per character). */
  const longLease = (i: number) =>
    String(i).padStart(6, '0') + '\u4e00'.repeat(USAGE_EVENT_LIMITS.maxLeaseIdLength - 6);

  it('sends all of 2,500 distinct longest lease ids: none parked, each unit once', async () => {
    const { customer, type } = await setup();
    const count = 2500;
    const outcome = await ingest.ingest(
      Array.from({ length: count }, (_, i) => message(customer, type, i + 1, longLease(i))),
    );
    expect(outcome.counts).toMatchObject({ accepted: count, deadLettered: 0 });
    // One message for them all would be about 1.1 MB, past the relay's 900 KiB limit.
    const rows: { value: Buffer }[] = await dataSource.query(
      `SELECT "value" FROM "metering"."outbox" WHERE "key" = $1 ORDER BY "id"`,
      [customer],
    );

    // The relay as the service runs it, to the real broker (other tests' rows may go too).
    const relay = new OutboxRelay(dataSource, 'metering', producer);
    const waiting = async () => {
      const [{ n }] = await dataSource.query(
        `SELECT count(*)::int AS n FROM "metering"."outbox"
         WHERE "key" = $1 AND "parked_at" IS NULL`,
        [customer],
      );
      return n as number;
    };
    await waitFor(async () => {
      await relay.drainOnce();
      return (await waiting()) === 0;
    });
    const [{ parked }] = await dataSource.query(
      `SELECT count(*)::int AS parked FROM "metering"."outbox" WHERE "key" = $1`,
      [customer],
    );
    expect(parked).toBe(0);
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows) expect(r.value.length).toBeLessThanOrEqual(MAX_RECORDED_BYTES);

    // What entitlement reads: every unit once, each lease with exactly its own units.
    const seen: UsageRecordedEvent[] = [];
    const reader = kafka.consumer({ groupId: `itest-usage-recorded-${randomUUID()}` });
    await reader.connect();
    await reader.subscribe({ topic: recordedTopic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message: m }) => {
        if (m.key?.toString() === customer) seen.push(JSON.parse(String(m.value)));
      },
    });
    try {
      await waitFor(() => seen.length >= rows.length);
    } finally {
      await reader.disconnect();
    }
    expect(seen).toHaveLength(rows.length);
    expect(seen.reduce((sum, m) => sum + m.quantity, 0)).toBe((count * (count + 1)) / 2);
    const byLease = new Map<string, number>();
    for (const m of seen)
      for (const l of m.leased) byLease.set(l.leaseId, (byLease.get(l.leaseId) ?? 0) + l.quantity);
    expect(byLease.size).toBe(count);
    for (let i = 0; i < count; i++) expect(byLease.get(longLease(i))).toBe(i + 1);
  });

  it('dead-letters a lease id past the bound as invalid; the rest is recorded', async () => {
    const { customer, type, meterKey } = await setup();
    const before = offset;
    const max = USAGE_EVENT_LIMITS.maxLeaseIdLength;
    const outcome = await ingest.ingest([
      message(customer, type, 5, 'a'.repeat(max)),
      message(customer, type, 7, 'b'.repeat(max + 1)),
      message(customer, type, 11, 'c'.repeat(1000)),
    ]);
    expect(outcome.counts).toMatchObject({ accepted: 1, deadLettered: 2 });
    const letters: { reason: string; detail: string }[] = await dataSource.query(
      `SELECT "reason", "detail" FROM "metering"."dead_letters"
       WHERE "topic" = $1 AND "offset" > $2 ORDER BY "offset"`,
      [topic, before],
    );
    const detail = `leaseid: leaseid must be at most ${max} characters`;
    expect(letters).toEqual([
      { reason: 'invalid', detail },
      { reason: 'invalid', detail },
    ]);
    const rows: { value: Buffer }[] = await dataSource.query(
      `SELECT "value" FROM "metering"."outbox" WHERE "key" = $1`,
      [customer],
    );
    expect(rows.map((r) => JSON.parse(r.value.toString()))).toEqual([
      expect.objectContaining({
        meterKey,
        quantity: 5,
        leased: [{ leaseId: 'a'.repeat(max), quantity: 5 }],
      }),
    ]);
  });
});
