import { DEAD_LETTER_HEADERS, type UsageRecordedEvent } from '@paygate/contracts';
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

/** Numbers that fit: event values up to 2^53 − 1, sums of them exact past it (issue 14). */
describe('usage past 2^53 − 1 (real Postgres)', () => {
  let dataSource: DataSource;
  let ingest: UsageIngestService;
  let meters: MetersService;
  let usage: UsageQueryService;
  const clock = new FixedClock(new Date());
  const topic = `${testConfig().kafkaPrefix}test-usage-bounds-${randomUUID()}`;
  let offset = 0;
  const config = Object.assign(new MeteringConfig(), {
    KAFKA_PREFIX: testConfig().kafkaPrefix,
    METER_REFRESH_MS: 60_000,
  });

  beforeAll(async () => {
    dataSource = await meteringDataSource(testConfig().databaseUrl, 4).initialize();
    const repository = new MetersRepository(dataSource, config);
    await repository.reload();
    const customers = new CustomerDirectory(dataSource, config);
    ingest = new UsageIngestService(
      dataSource,
      repository,
      config,
      clock,
      customers,
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

  // Minutes from the start of the hour two hours back: minute(70) is still in the past at any
  // time of day (one hour back, it was in the future during an hour's first minutes).
  const minute = (n: number) => {
    const base = clock.now().getTime();
    return new Date(base - (base % 3_600_000) - 2 * 3_600_000 + n * 60_000).toISOString();
  };

  /** Raw JSON, so that values past 2^53 reach the consumer as they were sent. */
  const message = (
    customer: string,
    type: string,
    id: string,
    value: string,
    at = minute(5),
    extra = '',
  ) =>
    ({
      topic,
      partition: 0,
      offset: String(++offset),
      key: null,
      value: Buffer.from(
        `{"specversion":"1.0","id":"${customer}/${id}","source":"itest","type":"${type}",` +
          `"subject":"${customer}","time":"${at}",${extra}"data":{"tokens":${value}}}`,
      ),
      headers: { itest: 'yes' },
      timestamp: '0',
    }) satisfies InboundMessage;

  const setup = async (
    aggregation: 'sum' | 'max' | 'count' = 'sum',
    type = `itest.bounds.${randomUUID()}`,
  ) => {
    const customer = randomUUID();
    customers.push(customer);
    const meterKey = `big_${randomUUID().slice(0, 8)}`;
    await meters.create({
      key: meterKey,
      eventType: type,
      aggregation,
      ...(aggregation === 'count' ? {} : { valuePath: '$.tokens' }),
    });
    return { customer, type, meterKey };
  };

  const recorded = async (customer: string): Promise<UsageRecordedEvent[]> => {
    const rows: { value: Buffer }[] = await dataSource.query(
      `SELECT "value" FROM "metering"."outbox" WHERE "topic" = $1 AND "key" = $2 ORDER BY "id"`,
      [testConfig().topics.usageRecorded, customer],
    );
    return rows.map((r) => JSON.parse(r.value.toString()) as UsageRecordedEvent);
  };

  it('sums 2^53 − 1 twice exactly: the usage answer is a decimal string, usage.recorded stays exact', async () => {
    const { customer, type, meterKey } = await setup();
    const max = String(MAX_EVENT_VALUE);
    // Two in one batch (one rollup row, one usage.recorded total), two more in another batch.
    await ingest.ingest([message(customer, type, 'a', max), message(customer, type, 'b', max)]);
    await ingest.ingest([
      message(customer, type, 'c', max, minute(70)),
      message(customer, type, 'd', '1', minute(70)),
    ]);

    const report = await usage.report({ customerId: customer, meterKey });
    expect(report.total).toEqual({ value: (MAX * 3n + 1n).toString(), events: 4 });
    const hourly = await usage.report({ customerId: customer, meterKey, granularity: 'hour' });
    expect(hourly.buckets).toEqual([
      { start: minute(0), value: (MAX * 2n).toString(), events: 2 },
      // Past 2^53 − 1 by one: exact, not rounded to 2^53.
      { start: minute(60), value: (MAX + 1n).toString(), events: 2 },
    ]);
    // usage.recorded carries safe integers only: a larger batch total is split, nothing lost.
    const messages = await recorded(customer);
    for (const m of messages) expect(Number.isSafeInteger(m.quantity)).toBe(true);
    expect(messages.reduce((sum, m) => sum + BigInt(m.quantity), 0n)).toBe(MAX * 3n + 1n);
  });

  it('refuses event values past 2^53 − 1 as invalid-value, the neighbours applied', async () => {
    const { customer, type, meterKey } = await setup();
    const before = offset;
    const outcome = await ingest.ingest([
      message(customer, type, 'ok', String(MAX_EVENT_VALUE)),
      message(customer, type, 'over', (MAX + 1n).toString()),
      message(customer, type, 'far', '1e300'),
      message(customer, type, 'neg', '-1'),
    ]);
    expect(outcome.counts).toMatchObject({ accepted: 1, deadLettered: 3 });
    const letters: { reason: string; offset: string }[] = await dataSource.query(
      `SELECT "reason", "offset" FROM "metering"."dead_letters"
       WHERE "topic" = $1 AND "offset" > $2 ORDER BY "offset"`,
      [topic, before],
    );
    expect(letters.map((l) => l.reason)).toEqual([
      'invalid-value',
      'invalid-value',
      'invalid-value',
    ]);
    // Within the bound the value stays a JSON number.
    expect((await usage.report({ customerId: customer, meterKey })).total).toEqual({
      value: MAX_EVENT_VALUE,
      events: 1,
    });
  });

  it('refuses max-meter values past −(2^53 − 1) and answers the bound itself as a number', async () => {
    const { customer, type, meterKey } = await setup('max');
    const outcome = await ingest.ingest([
      message(customer, type, 'low', (-MAX).toString()),
      message(customer, type, 'lower', (-MAX - 1n).toString()),
    ]);
    expect(outcome.counts).toMatchObject({ accepted: 1, deadLettered: 1 });
    expect((await usage.report({ customerId: customer, meterKey })).total).toEqual({
      value: -MAX_EVENT_VALUE,
      events: 1,
    });
  });

  it('counts an event standing for many occurrences exactly once, and bounds its sum', async () => {
    const { customer, type, meterKey } = await setup('sum');
    const counted = await setup('count', type);
    const many = (id: string, value: string, occurrences: number) =>
      message(customer, type, id, value, minute(5), `"occurrences":${occurrences},`);
    const before = offset;
    const outcome = await ingest.ingest([
      many('agg-1', '3', 250),
      message(customer, type, 'single', '4'),
      // Over the bound once multiplied: refused like a value past it.
      many('agg-over', String(2 ** 23), 2 ** 31 - 1),
      many('agg-bad', '1', 0),
    ]);
    expect(outcome.counts).toMatchObject({ accepted: 2, deadLettered: 2 });
    // A replay of the same aggregate (a retried publish) changes nothing.
    expect((await ingest.ingest([many('agg-1', '3', 250)])).counts).toMatchObject({
      accepted: 0,
    });
    expect((await usage.report({ customerId: customer, meterKey })).total).toEqual({
      value: 754,
      events: 251,
    });
    expect(
      (await usage.report({ customerId: customer, meterKey: counted.meterKey })).total,
    ).toEqual({ value: 251, events: 251 });
    const letters: { reason: string }[] = await dataSource.query(
      `SELECT "reason" FROM "metering"."dead_letters" WHERE "topic" = $1 AND "offset" > $2
       ORDER BY "offset"`,
      [topic, before],
    );
    expect(letters.map((l) => l.reason)).toEqual(['invalid-value', 'invalid']);
    // Charged as 754 units: both meters are additive.
    const quantities = (await recorded(customer)).map((m) => [m.meterKey, m.quantity]);
    expect(quantities.sort()).toEqual(
      [
        [counted.meterKey, 251],
        [meterKey, 754],
      ].sort(),
    );
  });
});
