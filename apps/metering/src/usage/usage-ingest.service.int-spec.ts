import { DEAD_LETTER_HEADERS } from '@paygate/contracts';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import { UsageIngestFixture } from '@test/usage-ingest.fixture';

/** Ingestion of a batch: dedupe, dead letters, skipped types and isolation of a refused message. */
describe('UsageIngestService (real Postgres)', () => {
  let fx: UsageIngestFixture;
  // The fixture's parts under the names the tests use.
  let dataSource: UsageIngestFixture['dataSource'];
  let ingest: UsageIngestFixture['ingest'];
  let skipping: UsageIngestFixture['skipping'];
  let meters: UsageIngestFixture['meters'];
  let deadLetters: UsageIngestFixture['deadLetters'];
  let unmatched: UsageIngestFixture['unmatched'];
  let topic: UsageIngestFixture['topic'];
  let config: UsageIngestFixture['config'];
  let message: UsageIngestFixture['message'];
  let minute: UsageIngestFixture['minute'];
  let event: UsageIngestFixture['event'];
  let rollup: UsageIngestFixture['rollup'];
  let outboxFor: UsageIngestFixture['outboxFor'];

  beforeAll(async () => {
    fx = await UsageIngestFixture.open();
    ({
      dataSource,
      ingest,
      skipping,
      meters,
      deadLetters,
      unmatched,
      topic,
      config,
      message,
      minute,
      event,
      rollup,
      outboxFor,
    } = fx);
  });
  afterAll(() => fx.close());

  it('counts each (source, id) once within a batch, across batches and on redelivery', async () => {
    const customer = randomUUID();
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
    const customer = randomUUID();
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
    const customer = randomUUID();
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
    const { types: counts } = await unmatched.list(undefined, undefined);
    expect(counts.find((c) => c.eventType === type)).toMatchObject({ count: '2' });
  });

  it('isolates a message the database refuses: its neighbours are applied, it is dead-lettered', async () => {
    const customer = randomUUID();
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

  it('dead-letters a bad message whose headers hold a NUL (jsonb refuses \\u0000), and goes on', async () => {
    const customer = randomUUID();
    const poison = { ...message('{bad'), headers: { 'trace\u0000id': 'a\u0000b', itest: 'yes' } };
    const batch = [message(event(customer, 'h1', 1)), poison, message(event(customer, 'h2', 1))];
    // Before, recording its letter failed, and so did the batch, on every delivery for good.
    const outcome = await ingest.ingest(batch);
    expect(outcome.counts).toMatchObject({ accepted: 2, deadLettered: 1 });
    const [letter]: { headers: Record<string, string> }[] = await dataSource.query(
      `SELECT "headers" FROM "metering"."dead_letters" WHERE "topic" = $1 AND "offset" = $2`,
      [topic, poison.offset],
    );
    expect(letter.headers).toEqual({ 'trace\uFFFDid': 'a\uFFFDb', itest: 'yes' });
    expect((await ingest.ingest(batch)).counts).toMatchObject({ accepted: 0, duplicates: 2 });
  });

  it('cuts a dead letter too large to keep whole, recording its size and SHA-256', async () => {
    const big = message(
      JSON.stringify({ ...event(randomUUID(), 'big', 1), pad: 'x'.repeat(900_000) }),
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
});
