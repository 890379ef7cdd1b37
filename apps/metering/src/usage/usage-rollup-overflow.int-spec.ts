import { DEAD_LETTER_HEADERS } from '@paygate/contracts';
import { FixedClock } from '@paygate/clock';
import type { InboundMessage } from '@paygate/messaging';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { CustomerDirectory } from '../customers/customer-directory';
import { meteringDataSource } from '../database/metering.data-source';
import { MAX_EVENT_VALUE } from '../meters/meter';
import { MetersRepository } from '../meters/meters.repository';
import { MetersService } from '../meters/meters.service';
import { UnmatchedEventsRepository } from './unmatched-events.repository';
import { UsageIngestService } from './usage-ingest.service';
import { UsageQueryService } from './usage-query.service';

const MAX = BigInt(MAX_EVENT_VALUE);
const EVENTS = 1_100;
/** Past Postgres bigint (2^63 − 1), where the minute row's sum used to overflow. */
const EXPECTED = MAX * BigInt(EVENTS);

/**
 * Numbers that fit: a minute's sum is numeric, so 1,100 events of 2^53 − 1 for one customer,
 * meter and minute all count (bigint overflowed after about 1,024 and dead-lettered the rest).
 */
describe('minute sums past bigint (real Postgres)', () => {
  let dataSource: DataSource;
  let ingest: UsageIngestService;
  let meters: MetersService;
  let usage: UsageQueryService;
  const clock = new FixedClock(new Date());
  const topic = `${testConfig().kafkaPrefix}test-rollup-overflow-${randomUUID()}`;
  let offset = 0;
  const config = Object.assign(new MeteringConfig(), {
    KAFKA_PREFIX: testConfig().kafkaPrefix,
    METER_REFRESH_MS: 60_000,
  });

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
    usage = new UsageQueryService(dataSource);
  });

  /** The run's customers (usage events' subjects are UUIDs): their outbox rows go at the end. */
  const customers: string[] = [];

  afterAll(async () => {
    // No relay runs here; queued messages must not leak into a later run's relay.
    await dataSource.query(
      `DELETE FROM "metering"."outbox" WHERE "key" = ANY($3) OR "headers"->>$1 = $2`,
      [DEAD_LETTER_HEADERS.topic, topic, customers],
    );
    await dataSource.destroy();
  });

  /** One minute, an hour ago (well inside the late window). */
  const at = () => {
    const base = clock.now().getTime();
    return new Date(base - (base % 60_000) - 3_600_000).toISOString();
  };

  const message = (customer: string, type: string, id: string) =>
    ({
      topic,
      partition: 0,
      offset: String(++offset),
      key: null,
      value: Buffer.from(
        `{"specversion":"1.0","id":"${customer}/${id}","source":"itest","type":"${type}",` +
          `"subject":"${customer}","time":"${at()}","data":{"tokens":${MAX_EVENT_VALUE}}}`,
      ),
      headers: { itest: 'yes' },
      timestamp: '0',
    }) satisfies InboundMessage;

  const setup = async () => {
    const customer = randomUUID();
    customers.push(customer);
    const type = `itest.overflow.${randomUUID()}`;
    const meterKey = `ovf_${randomUUID().slice(0, 8)}`;
    await meters.create({
      key: meterKey,
      eventType: type,
      aggregation: 'sum',
      valuePath: '$.tokens',
    });
    return { customer, type, meterKey };
  };

  const messages = (customer: string, type: string, from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => message(customer, type, `e${from + i}`));

  const expectExactTotal = async (customer: string, meterKey: string) => {
    const report = await usage.report({ customerId: customer, meterKey });
    expect(report.total).toEqual({ value: EXPECTED.toString(), events: EVENTS });
    // As the API answers it: the exact decimal string, never a rounded JSON number.
    expect(JSON.stringify(report.total)).toBe(`{"value":"${EXPECTED}","events":${EVENTS}}`);
    const [row]: { value_sum: string; event_count: string }[] = await dataSource.query(
      `SELECT "value_sum"::text, "event_count"::text FROM "metering"."rollups"
       WHERE "customer_id" = $1 AND "meter_key" = $2`,
      [customer, meterKey],
    );
    expect(row).toEqual({ value_sum: EXPECTED.toString(), event_count: String(EVENTS) });
  };

  it('the stored sum passes bigint across batches: every event counts, none dead-lettered', async () => {
    const { customer, type, meterKey } = await setup();
    let accepted = 0;
    let deadLettered = 0;
    for (let from = 0; from < EVENTS; from += 100) {
      const { counts } = await ingest.ingest(messages(customer, type, from, from + 100));
      accepted += counts.accepted;
      deadLettered += counts.deadLettered;
    }
    expect({ accepted, deadLettered }).toEqual({ accepted: EVENTS, deadLettered: 0 });
    await expectExactTotal(customer, meterKey);
  });

  it('one batch whose own sum passes bigint: every event counts, none dead-lettered', async () => {
    const { customer, type, meterKey } = await setup();
    const { counts } = await ingest.ingest(messages(customer, type, 0, EVENTS));
    expect(counts).toMatchObject({ accepted: EVENTS, deadLettered: 0, duplicates: 0 });
    await expectExactTotal(customer, meterKey);
  });
});
