import { DEAD_LETTER_HEADERS, type UsageRecordedEvent } from '@paygate/contracts';
import { FixedClock } from '@paygate/clock';
import type { InboundMessage } from '@paygate/messaging';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { meteringDataSource } from '../database/metering.data-source';
import { CustomerDirectory } from '../customers/customer-directory';
import { DeadLettersService } from '../dead-letters/dead-letters.service';
import { MetersRepository } from '../meters/meters.repository';
import { MetersService } from '../meters/meters.service';
import { DedupePruner } from './dedupe-pruner';
import { UsageIngestService } from './usage-ingest.service';
import { UsageQueryService } from './usage-query.service';
import { UnmatchedEventsRepository } from './unmatched-events.repository';

describe('UsageIngestService (real Postgres)', () => {
  let dataSource: DataSource;
  let ingest: UsageIngestService;
  let holdingIngest: UsageIngestService;
  let meters: MetersService;
  let usage: UsageQueryService;
  let deadLetters: DeadLettersService;
  let customers: CustomerDirectory;
  const clock = new FixedClock(new Date());
  const topic = `${testConfig().kafkaPrefix}test-usage-${randomUUID()}`;
  let offset = 0;
  const config = Object.assign(new MeteringConfig(), {
    KAFKA_PREFIX: testConfig().kafkaPrefix,
    METER_REFRESH_MS: 60_000,
    UNKNOWN_METER_POLICY: 'dead-letter',
  });
  let skipping: UsageIngestService;
  let unmatched: UnmatchedEventsRepository;

  beforeAll(async () => {
    dataSource = await meteringDataSource(testConfig().databaseUrl, 4).initialize();
    const repository = new MetersRepository(dataSource, config);
    await repository.reload();
    customers = new CustomerDirectory(dataSource, config);
    unmatched = new UnmatchedEventsRepository(dataSource);
    ingest = new UsageIngestService(dataSource, repository, config, clock, customers, unmatched);
    skipping = new UsageIngestService(
      dataSource,
      repository,
      Object.assign(new MeteringConfig(), { KAFKA_PREFIX: testConfig().kafkaPrefix }),
      clock,
      customers,
      unmatched,
    );
    holdingIngest = new UsageIngestService(
      dataSource,
      repository,
      Object.assign(new MeteringConfig(), {
        KAFKA_PREFIX: testConfig().kafkaPrefix,
        UNKNOWN_METER_POLICY: 'hold',
        UNKNOWN_CUSTOMER_POLICY: 'hold',
      }),
      clock,
      customers,
      unmatched,
    );
    meters = new MetersService(dataSource, repository);
    usage = new UsageQueryService(dataSource);
    deadLetters = new DeadLettersService(dataSource);
  });

  afterAll(async () => {
    // This test runs no relay; its queued messages must not leak into a later run's relay.
    await dataSource.query(
      `DELETE FROM "metering"."outbox" WHERE "headers"->>$1 = $2 OR "key" LIKE 'itest-%'
         OR "topic" = $2`,
      [DEAD_LETTER_HEADERS.topic, topic],
    );
    await dataSource.destroy();
  });

  const message = (value: unknown, at = ++offset): InboundMessage => ({
    topic,
    partition: 0,
    offset: String(at),
    key: null,
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers: { itest: 'yes' },
    timestamp: '0',
  });

  const minute = (n: number) => {
    const base = clock.now().getTime();
    return new Date(base - (base % 3_600_000) - 3_600_000 + n * 60_000).toISOString();
  };

  const event = (
    customer: string,
    id: string,
    units: number,
    extra: Record<string, unknown> = {},
  ) => ({
    specversion: '1.0',
    // Scoped to the customer, which is new each test.
    id: `${customer}/${id}`,
    source: 'itest',
    type: 'dev.paygate.request.served',
    subject: customer,
    time: minute(15),
    data: { units },
    ...extra,
  });

  const rollup = async (customer: string) =>
    dataSource.query(
      `SELECT "bucket_start", "value_sum"::int AS "value", "event_count"::int FROM "metering"."rollups"
       WHERE "customer_id" = $1 AND "meter_key" = 'api_requests'`,
      [customer],
    );

  const outboxFor = async (customer: string): Promise<UsageRecordedEvent[]> => {
    const rows: { value: Buffer }[] = await dataSource.query(
      `SELECT "value" FROM "metering"."outbox" WHERE "topic" = $1 AND "key" = $2 ORDER BY "id"`,
      [testConfig().topics.usageRecorded, customer],
    );
    return rows.map((r) => JSON.parse(r.value.toString()) as UsageRecordedEvent);
  };

  it('counts each (source, id) once within a batch, across batches and on redelivery', async () => {
    const customer = `itest-${randomUUID()}`;
    const batch = [
      message(event(customer, 'a', 2, { leaseid: 'lease-a' })),
      message(event(customer, 'b', 3)),
      message(event(customer, 'a', 2, { leaseid: 'lease-a' })),
    ];
    expect((await ingest.ingest(batch)).counts).toEqual({
      accepted: 2,
      duplicates: 1,
      deadLettered: 0,
      held: 0,
      unmatched: 0,
    });
    // The same batch again, as after a crash before the offset commit.
    expect((await ingest.ingest(batch)).counts).toEqual({
      accepted: 0,
      duplicates: 3,
      deadLettered: 0,
      held: 0,
      unmatched: 0,
    });
    expect((await ingest.ingest([message(event(customer, 'b', 3))])).counts).toMatchObject({
      accepted: 0,
      duplicates: 1,
    });

    expect(await rollup(customer)).toEqual([
      { bucket_start: new Date(minute(15)), value: 5, event_count: 2 },
    ]);
    const recorded = await outboxFor(customer);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      customerId: customer,
      meterKey: 'api_requests',
      quantity: 5,
      leased: [{ leaseId: 'lease-a', quantity: 2 }],
    });
  });

  it('records each bad offset once, hands its DLQ copy to the consumer each time, and replays it', async () => {
    const customer = `itest-${randomUUID()}`;
    const bad = message('{"not": json');
    const type = `itest.replay.${randomUUID()}`;
    const unknown = message(event(customer, 'u', 1, { type }));
    const late = message(event(customer, 'l', 1, { time: '2020-01-01T00:00:00Z' }));
    const good = message(event(customer, 'g', 1));
    const first = await ingest.ingest([bad, unknown, late, good]);
    expect(first.counts).toEqual({
      accepted: 1,
      duplicates: 0,
      deadLettered: 3,
      held: 0,
      unmatched: 0,
    });
    // Redelivered (the Kafka transaction of the first attempt never committed): recorded once,
    // but the DLQ copies come back again for the transaction that commits this time.
    const again = await ingest.ingest([bad, unknown, late, good]);
    expect(again.counts).toEqual({
      accepted: 0,
      duplicates: 1,
      deadLettered: 0,
      held: 0,
      unmatched: 0,
    });
    expect(again.deadLetters).toEqual(first.deadLetters);
    const recorded: unknown[] = await dataSource.query(
      `SELECT 1 FROM "metering"."dead_letters" WHERE "topic" = $1`,
      [topic],
    );
    expect(recorded).toHaveLength(3);

    const letters = first.deadLetters.map((l) => ({
      headers: l.headers!,
      value: Buffer.from(l.value),
      topic: l.topic,
    }));
    expect(letters.every((l) => l.topic === testConfig().topics.usageDeadLetter)).toBe(true);
    expect(letters.map((l) => l.headers[DEAD_LETTER_HEADERS.reason])).toEqual([
      'malformed-json',
      'unknown-meter',
      'late',
    ]);
    expect(letters[0].value.toString()).toBe('{"not": json');
    expect(letters[0].headers[DEAD_LETTER_HEADERS.offset]).toBe(bad.offset);

    // Once the meter exists, the unknown-meter letter is replayed, once.
    await meters.create({
      key: `m_${randomUUID().slice(0, 8)}`,
      eventType: type,
      aggregation: 'count',
    });
    const since = new Date(Date.now() - 60_000).toISOString();
    expect(await deadLetters.replay({ reason: 'unknown-meter', since })).toBeGreaterThanOrEqual(1);
    expect(await deadLetters.replay({ reason: 'unknown-meter', since })).toBe(0);
    const replayed: { value: Buffer; headers: Record<string, string> }[] = await dataSource.query(
      `SELECT "value", "headers" FROM "metering"."outbox" WHERE "topic" = $1 AND "key" IS NULL
         AND "value" = $2`,
      [topic, unknown.value],
    );
    expect(replayed).toHaveLength(1);
    expect(replayed[0].headers[DEAD_LETTER_HEADERS.reason]).toBeUndefined();
  });

  it('skips events no meter reads (default policy): counted per type once, redelivery included', async () => {
    const customer = `itest-${randomUUID()}`;
    const type = `itest.unmatched.${randomUUID()}`;
    const batch = [
      message(event(customer, 'u1', 1, { type })),
      message(event(customer, 'g1', 1)),
      message(event(customer, 'u2', 1, { type })),
    ];
    expect((await skipping.ingest(batch)).counts).toEqual({
      accepted: 1,
      duplicates: 0,
      deadLettered: 0,
      held: 0,
      unmatched: 2,
    });
    // Delivered again (its Kafka transaction failed): nothing counted twice, no dead letter.
    const again = await skipping.ingest(batch);
    expect(again.counts).toMatchObject({ unmatched: 0, deadLettered: 0, duplicates: 1 });
    expect(again.deadLetters).toEqual([]);
    const counts = await unmatched.list(undefined, undefined);
    expect(counts.find((c) => c.eventType === type)).toMatchObject({ count: '2' });
  });

  it('isolates a message the database refuses: its neighbours are applied, it is dead-lettered', async () => {
    const customer = `itest-${randomUUID()}`;
    // A valid event (data is the publisher's JSON), but the group it names holds a NUL, which
    // Postgres text cannot: writing its rollup fails in the database.
    const type = `itest.grouped.${randomUUID()}`;
    await meters.create({
      key: `grouped_${randomUUID().slice(0, 8)}`,
      eventType: type,
      aggregation: 'sum',
      valuePath: '$.tokens',
      groupBy: { model: '$.model' },
    });
    const poison = message({
      ...event(customer, 'p-nul', 0, { type }),
      data: { tokens: 1, model: 'nul\u0000' },
    });
    const batch = [
      message(event(customer, 'p1', 1)),
      message(event(customer, 'p2', 1)),
      poison,
      message(event(customer, 'p3', 1)),
    ];
    const outcome = await ingest.ingest(batch);
    expect(outcome.counts).toMatchObject({ accepted: 3, deadLettered: 1 });
    expect(outcome.deadLetters).toHaveLength(1);
    expect(outcome.deadLetters[0].headers?.[DEAD_LETTER_HEADERS.reason]).toBe('unprocessable');
    expect(outcome.deadLetters[0].headers?.[DEAD_LETTER_HEADERS.offset]).toBe(poison.offset);
    expect(await rollup(customer)).toEqual([
      { bucket_start: new Date(minute(15)), value: 3, event_count: 3 },
    ]);
    // And again, as a redelivery: nothing applied twice, the letter handed back once more.
    const again = await ingest.ingest(batch);
    expect(again.counts).toMatchObject({ accepted: 0, duplicates: 3, deadLettered: 0 });
    expect(again.deadLetters).toHaveLength(1);
  });

  it('cuts a dead letter too large to keep whole, recording its size and SHA-256', async () => {
    const big = message(
      JSON.stringify({ ...event(`itest-${randomUUID()}`, 'big', 1), pad: 'x'.repeat(900_000) }),
    );
    const outcome = await ingest.ingest([big]);
    expect(outcome.counts).toMatchObject({ deadLettered: 1 });
    const letter = outcome.deadLetters[0];
    expect((letter.value as Buffer).length).toBe(config.DEAD_LETTER_MAX_VALUE_BYTES);
    expect(letter.headers?.[DEAD_LETTER_HEADERS.valueBytes]).toBe(String(big.value!.length));
    const [row]: {
      value: Buffer;
      value_bytes: string;
      value_sha256: string;
      value_cut: boolean;
    }[] = await dataSource.query(
      `SELECT "value", "value_bytes", "value_sha256", "value_cut" FROM "metering"."dead_letters"
         WHERE "topic" = $1 AND "offset" = $2`,
      [topic, big.offset],
    );
    expect(row.value_cut).toBe(true);
    expect(row.value.length).toBe(config.DEAD_LETTER_MAX_VALUE_BYTES);
    expect(row.value_bytes).toBe(String(big.value!.length));
    expect(row.value_sha256).toBe(letter.headers?.[DEAD_LETTER_HEADERS.valueSha256]);
  });

  it('aggregates sum, max, latest and unique_count per group and answers by hour and group', async () => {
    const customer = `itest-${randomUUID()}`;
    const type = `itest.llm.${randomUUID()}`;
    const suffix = randomUUID().slice(0, 8);
    const key = (name: string) => `${name}_${suffix}`;
    for (const aggregation of ['sum', 'max', 'latest', 'unique_count'] as const) {
      await meters.create({
        key: key(aggregation),
        eventType: type,
        aggregation,
        valuePath: aggregation === 'unique_count' ? '$.user' : '$.tokens',
        groupBy: { model: '$.model' },
      });
    }
    const llm = (id: string, at: string, tokens: number, model: string, user: string) =>
      message({ ...event(customer, id, 0, { type, time: at }), data: { tokens, model, user } });
    await ingest.ingest([
      llm('1', minute(1), 100, 'small', 'ann'),
      llm('2', minute(2), 300, 'large', 'bob'),
      llm('3', minute(61), 50, 'small', 'ann'),
    ]);
    await ingest.ingest([
      llm('4', minute(3), 20, 'small', 'cy'),
      llm('2', minute(2), 300, 'large', 'bob'),
    ]);

    const report = (aggregation: string, extra = {}) =>
      usage.report({ customerId: customer, meterKey: key(aggregation), ...extra });
    expect((await report('sum')).total).toEqual({ value: 470, events: 4 });
    expect((await report('max')).total.value).toBe(300);
    expect((await report('latest')).total.value).toBe(50);
    expect((await report('unique_count')).total.value).toBe(3);
    const hourly = await report('sum', { granularity: 'hour', groupBy: ['model'] });
    expect(hourly.buckets).toEqual([
      { start: minute(0), group: { model: 'large' }, value: 300, events: 1 },
      { start: minute(0), group: { model: 'small' }, value: 120, events: 2 },
      { start: minute(60), group: { model: 'small' }, value: 50, events: 1 },
    ]);
    const uniqueHourly = await report('unique_count', { granularity: 'hour' });
    expect(uniqueHourly.buckets.map((b) => b.value)).toEqual([3, 1]);

    // A new version reads a different path; the stored history keeps what version 1 made.
    await meters.update(key('sum'), { valuePath: '$.cost' });
    await ingest.ingest([
      message({
        ...event(customer, '5', 0, { type, time: minute(62) }),
        data: { cost: 7, tokens: 1, model: 'small', user: 'x' },
      }),
    ]);
    expect((await report('sum')).total).toEqual({ value: 477, events: 5 });
    expect((await meters.get(key('sum'))).versions.map((v) => v.valuePath)).toEqual([
      '$.tokens',
      '$.cost',
    ]);
  });

  it('holds events of unknown types and releases them, through the outbox, when a meter appears', async () => {
    const customer = `itest-${randomUUID()}`;
    await customers.announce([customer]);
    const type = `itest.held.${randomUUID()}`;
    const held = [
      message(event(customer, 'h1', 1, { type })),
      message(event(customer, 'h2', 2, { type })),
    ];
    expect((await holdingIngest.ingest(held)).counts).toMatchObject({ held: 2, deadLettered: 0 });
    expect((await holdingIngest.ingest(held)).counts).toMatchObject({ held: 0 });
    await meters.create({
      key: `held_${randomUUID().slice(0, 8)}`,
      eventType: type,
      aggregation: 'sum',
      valuePath: '$.units',
    });
    const released: { value: Buffer }[] = await dataSource.query(
      `SELECT "value" FROM "metering"."outbox" WHERE "topic" = $1 AND "headers"->>'itest' = 'yes'
         AND convert_from("value", 'UTF8') LIKE $2 ORDER BY "id"`,
      [topic, `%${type}%`],
    );
    expect(released.map((r) => r.value.toString())).toEqual(held.map((h) => h.value!.toString()));
    const left: unknown[] = await dataSource.query(
      `SELECT 1 FROM "metering"."held_events" WHERE "event_type" = $1`,
      [type],
    );
    expect(left).toEqual([]);
  });

  it('prunes dedupe keys only past the dedupe window', async () => {
    const id = randomUUID();
    await dataSource.query(
      `INSERT INTO "metering"."events" ("source", "id", "time") VALUES
         ('itest-prune', $1, now() - interval '200 hours'), ('itest-prune', $2, now() - interval '1 hour')`,
      [`${id}-old`, `${id}-new`],
    );
    const pruner = new DedupePruner(
      dataSource,
      Object.assign(new MeteringConfig(), {
        KAFKA_PREFIX: testConfig().kafkaPrefix,
        DEDUPE_WINDOW_HOURS: 168,
      }),
    );
    expect(await pruner.pruneOnce(1)).toBeGreaterThanOrEqual(1);
    const left: { id: string }[] = await dataSource.query(
      `SELECT "id" FROM "metering"."events" WHERE "source" = 'itest-prune' AND "id" LIKE $1`,
      [`${id}%`],
    );
    expect(left.map((r) => r.id)).toEqual([`${id}-new`]);
  });

  it('holds events of customers not yet announced and releases them when the customer is', async () => {
    const customer = `itest-${randomUUID()}`;
    const held = [message(event(customer, 'x1', 1)), message(event(customer, 'x2', 2))];
    expect((await holdingIngest.ingest(held)).counts).toMatchObject({ held: 2, accepted: 0 });
    expect(await customers.announce([customer])).toBe(2);
    expect(await customers.announce([customer])).toBe(0);
    const released: { value: Buffer }[] = await dataSource.query(
      `SELECT "value" FROM "metering"."outbox" WHERE "topic" = $1 AND convert_from("value", 'UTF8') LIKE $2
       ORDER BY "id"`,
      [topic, `%${customer}/x%`],
    );
    expect(released).toHaveLength(2);
    // Once known, its events are counted straight away.
    expect((await holdingIngest.ingest([message(event(customer, 'x3', 3))])).counts).toMatchObject({
      accepted: 1,
      held: 0,
    });
  });
});
