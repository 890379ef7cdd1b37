import { DEAD_LETTER_HEADERS, TOPICS, type UsageRecordedEvent } from '@paygate/contracts';
import type { InboundMessage } from '@paygate/messaging';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { MeteringConfig } from '../config/metering.config';
import { meteringDataSource } from '../database/metering.data-source';
import { MetersRepository } from '../meters/meters.repository';
import { UsageIngestService } from './usage-ingest.service';

describe('UsageIngestService (real Postgres)', () => {
  let dataSource: DataSource;
  let ingest: UsageIngestService;
  const topic = `test-usage-${randomUUID()}`;
  let offset = 0;

  beforeAll(async () => {
    dataSource = await meteringDataSource(testConfig().databaseUrl, 4).initialize();
    const meters = new MetersRepository(dataSource, { METER_REFRESH_MS: 60_000 } as MeteringConfig);
    await meters.reload();
    ingest = new UsageIngestService(dataSource, meters);
  });

  afterAll(async () => {
    // This test runs no relay; its queued messages must not leak into a later run's relay.
    await dataSource.query(
      `DELETE FROM "metering"."outbox" WHERE "headers"->>$1 = $2 OR "key" LIKE 'itest-%'`,
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
    headers: {},
    timestamp: '0',
  });

  const event = (
    customer: string,
    id: string,
    units: number,
    extra: Record<string, unknown> = {},
  ) => ({
    specversion: '1.0',
    // Scoped to the customer, which is new each run: the test database outlives runs.
    id: `${customer}/${id}`,
    source: 'itest',
    type: 'dev.paygate.request.served',
    subject: customer,
    time: '2026-11-24T10:15:42Z',
    data: { units },
    ...extra,
  });

  const rollup = async (customer: string) =>
    dataSource.query(
      `SELECT "bucket_start", "value"::int, "event_count"::int FROM "metering"."rollups"
       WHERE "customer_id" = $1 AND "meter_key" = 'api_requests'`,
      [customer],
    );

  const outboxFor = async (customer: string): Promise<UsageRecordedEvent[]> => {
    const rows: { value: Buffer }[] = await dataSource.query(
      `SELECT "value" FROM "metering"."outbox" WHERE "topic" = $1 AND "key" = $2 ORDER BY "id"`,
      [TOPICS.usageRecorded, customer],
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
    expect(await ingest.ingest(batch)).toEqual({ accepted: 2, duplicates: 1, deadLettered: 0 });
    // The same batch again, as after a crash before the offset commit.
    expect(await ingest.ingest(batch)).toEqual({ accepted: 0, duplicates: 3, deadLettered: 0 });
    expect(await ingest.ingest([message(event(customer, 'b', 3))])).toMatchObject({
      accepted: 0,
      duplicates: 1,
    });

    expect(await rollup(customer)).toEqual([
      { bucket_start: new Date('2026-11-24T10:15:00Z'), value: 5, event_count: 2 },
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

  it('queues each bad offset for the dead-letter topic once, with the reason', async () => {
    const customer = `itest-${randomUUID()}`;
    const bad = message('{"not": json');
    const unknown = message(event(customer, 'u', 1, { type: 'no.such.type' }));
    const good = message(event(customer, 'g', 1));
    expect(await ingest.ingest([bad, unknown, good])).toEqual({
      accepted: 1,
      duplicates: 0,
      deadLettered: 2,
    });
    expect(await ingest.ingest([bad, unknown, good])).toEqual({
      accepted: 0,
      duplicates: 1,
      deadLettered: 0,
    });

    const letters: { headers: Record<string, string>; value: Buffer }[] = await dataSource.query(
      `SELECT "headers", "value" FROM "metering"."outbox"
       WHERE "topic" = $1 AND "headers"->>$2 = $3 ORDER BY "id"`,
      [TOPICS.usageDeadLetter, DEAD_LETTER_HEADERS.topic, topic],
    );
    expect(letters.map((l) => l.headers[DEAD_LETTER_HEADERS.reason])).toEqual([
      'malformed-json',
      'unknown-meter',
    ]);
    expect(letters[0].value.toString()).toBe('{"not": json');
    expect(letters[0].headers[DEAD_LETTER_HEADERS.offset]).toBe(bad.offset);
  });
});
