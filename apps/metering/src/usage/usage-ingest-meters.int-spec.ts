import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import { MeteringConfig } from '../config/metering.config';
import { DedupePruner } from './dedupe-pruner';
import { UsageIngestFixture } from '@test/usage-ingest.fixture';

/** What ingested events become: aggregates by meter, held events released, dedupe keys pruned. */
describe('UsageIngestService: meters, holds and pruning (real Postgres)', () => {
  let fx: UsageIngestFixture;
  // The fixture's parts under the names the tests use.
  let dataSource: UsageIngestFixture['dataSource'];
  let ingest: UsageIngestFixture['ingest'];
  let holdingIngest: UsageIngestFixture['holdingIngest'];
  let meters: UsageIngestFixture['meters'];
  let usage: UsageIngestFixture['usage'];
  let customers: UsageIngestFixture['customers'];
  let topic: UsageIngestFixture['topic'];
  let message: UsageIngestFixture['message'];
  let minute: UsageIngestFixture['minute'];
  let event: UsageIngestFixture['event'];

  beforeAll(async () => {
    fx = await UsageIngestFixture.open();
    ({
      dataSource,
      ingest,
      holdingIngest,
      meters,
      usage,
      customers,
      topic,
      message,
      minute,
      event,
    } = fx);
  });
  afterAll(() => fx.close());

  it('aggregates sum, max, latest and unique_count per group and answers by hour and group', async () => {
    const customer = randomUUID();
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

  it('groups object values by what they are, not by the order of their members', async () => {
    const customer = randomUUID();
    const type = `itest.shapes.${randomUUID()}`;
    const suffix = randomUUID().slice(0, 8);
    const key = (name: string) => `${name}_${suffix}`;
    for (const aggregation of ['sum', 'unique_count'] as const) {
      await meters.create({
        key: key(aggregation),
        eventType: type,
        aggregation,
        valuePath: aggregation === 'sum' ? '$.tokens' : '$.user',
        groupBy: { shape: '$.shape', model: '$.model' },
      });
    }
    const shaped = (id: string, tokens: number, shape: unknown, model: unknown, user = 'ann') =>
      message({
        ...event(customer, id, 0, { type, time: minute(1) }),
        data: { tokens, shape, model, user },
      });
    await ingest.ingest([
      shaped('1', 1, { a: 1, b: { c: [1, { x: 1, y: 2 }], d: 2 } }, 'small'),
      shaped('2', 10, { b: { d: 2, c: [1, { y: 2, x: 1 }] }, a: 1 }, 'small', 'bob'),
      // Another value: an array's order is part of it.
      shaped('3', 100, { a: 1, b: { c: [{ x: 1, y: 2 }, 1], d: 2 } }, 'small'),
      shaped('4', 1000, 'plain', 'small'),
    ]);
    const report = (aggregation: string) =>
      usage.report({
        customerId: customer,
        meterKey: key(aggregation),
        granularity: 'hour',
        groupBy: ['shape'],
      });
    // By value: the order of groups is the database collation's.
    const byValue = <T extends { value: unknown }>(buckets: T[]) =>
      [...buckets].sort((a, b) => Number(a.value) - Number(b.value));
    expect(byValue((await report('sum')).buckets)).toEqual([
      {
        start: minute(0),
        group: { shape: '{"a":1,"b":{"c":[1,{"x":1,"y":2}],"d":2}}' },
        value: 11,
        events: 2,
      },
      {
        start: minute(0),
        group: { shape: '{"a":1,"b":{"c":[{"x":1,"y":2},1],"d":2}}' },
        value: 100,
        events: 1,
      },
      { start: minute(0), group: { shape: 'plain' }, value: 1000, events: 1 },
    ]);
    // Ann and Bob in the one group, Ann alone in each other.
    const unique = await report('unique_count');
    expect(byValue(unique.buckets).map((b) => [b.value, b.events])).toEqual([
      [1, 1],
      [1, 1],
      [2, 2],
    ]);
    // Scalar group values keep the stored key they always had.
    const [row]: { group_key: unknown }[] = await dataSource.query(
      `SELECT "group_key" FROM "metering"."rollups" WHERE "customer_id" = $1 AND "meter_key" = $2
         AND "group_key"->>'shape' = 'plain'`,
      [customer, key('sum')],
    );
    expect(row.group_key).toEqual({ model: 'small', shape: 'plain' });
  });

  it('holds events of unknown types and releases them, through the outbox, when a meter appears', async () => {
    const customer = randomUUID();
    await customers.announce([customer]);
    const type = `itest.held.${randomUUID()}`;
    const held = [
      message(event(customer, 'h1', 1, { type })),
      message(event(customer, 'h2', 2, { type })),
    ];
    expect((await holdingIngest.ingest(held)).counts).toMatchObject({ held: 2, deadLettered: 0 });
    expect((await holdingIngest.ingest(held)).counts).toMatchObject({ held: 0 });
    // A header holding a NUL (jsonb refuses \u0000) is held all the same, not a stuck batch.
    const nul = { ...message(event(customer, 'h3', 4, { type })), headers: { x: 'a\u0000b' } };
    expect((await holdingIngest.ingest([nul])).counts).toMatchObject({ held: 1 });
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
    const customer = randomUUID();
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
