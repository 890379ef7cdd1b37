import { Logger } from '@nestjs/common';
import type { ProgressSnapshot } from '@paygate/messaging';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ConsumerStallAlerts, type StalledConsumer } from './consumer-stall-alerts';

/** A consumer's progress as a test sets it. */
const snapshot = (over: Partial<ProgressSnapshot> = {}): ProgressSnapshot => ({
  lag: 0,
  oldestUnappliedMs: 0,
  stalled: [],
  partitions: [],
  ...over,
});

describe('ConsumerStallAlerts (real Postgres)', () => {
  // A deliveries table of the test's own, made like metering's: no service delivers from it.
  const schema = `itest_alerts_${randomUUID().slice(0, 8)}`;
  let dataSource: DataSource;
  let warn: jest.SpyInstance;

  beforeAll(async () => {
    dataSource = await new DataSource({
      type: 'postgres',
      url: testConfig().databaseUrl,
    }).initialize();
    await dataSource.query(`CREATE SCHEMA "${schema}"`);
    await dataSource.query(
      `CREATE TABLE "${schema}"."webhook_deliveries" (LIKE "metering"."webhook_deliveries" INCLUDING ALL)`,
    );
  });
  afterAll(async () => {
    await dataSource.query(`DROP SCHEMA "${schema}" CASCADE`);
    await dataSource.destroy();
  });
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  const queued = async () => {
    const rows: { payload: Record<string, unknown> }[] = await dataSource.query(
      `SELECT "payload" FROM "${schema}"."webhook_deliveries" ORDER BY "created_at", "id"`,
    );
    return rows.map((r) => r.payload);
  };
  const who = (consumer: string): StalledConsumer => ({
    service: 'metering',
    consumer,
    group: `g-${consumer}`,
    topic: 't',
  });

  it('alerts for a consumer out of its group, for each consumer watched, once per change', async () => {
    const usage = { now: snapshot() };
    const customers = { now: snapshot() };
    const alerts = new ConsumerStallAlerts(dataSource, schema, { url: 'http://x', secret: 's' }, [
      { who: who('usage-consumer'), progress: () => usage.now },
      { who: who('customers-consumer'), progress: () => customers.now },
    ]);
    expect(await alerts.check()).toEqual([]);

    // Another member holds every partition: no lag here, yet this one applies nothing.
    customers.now = snapshot({ outOfGroup: { sinceMs: 61_000, why: 'crashed' } });
    expect(await alerts.check()).toEqual([
      expect.objectContaining({
        type: 'consumer.stalled',
        consumer: 'customers-consumer',
        group: 'g-customers-consumer',
        partitions: [],
        outOfGroup: { seconds: 61, why: 'crashed' },
      }),
    ]);
    expect(await alerts.check()).toEqual([]);

    usage.now = snapshot({
      lag: 7,
      oldestUnappliedMs: 90_000,
      stalled: [{ partition: 2, lag: 7, stuckSince: Date.parse('2026-12-06T10:00:00Z') }],
    });
    customers.now = snapshot();
    const second = await alerts.check();
    expect(second.map((a) => [a.type, a.consumer])).toEqual([
      ['consumer.stalled', 'usage-consumer'],
      ['consumer.recovered', 'customers-consumer'],
    ]);
    expect(second[0]).not.toHaveProperty('outOfGroup');

    expect((await queued()).map((p) => [p.type, p.consumer])).toEqual([
      ['consumer.stalled', 'customers-consumer'],
      ['consumer.stalled', 'usage-consumer'],
      ['consumer.recovered', 'customers-consumer'],
    ]);
  });

  it('tries a change again while it cannot be queued, and sends it once it can', async () => {
    await dataSource.query(`DELETE FROM "${schema}"."webhook_deliveries"`);
    const usage = { now: snapshot({ outOfGroup: { sinceMs: 60_000, why: 'stopped' } }) };
    const alerts = new ConsumerStallAlerts(dataSource, schema, { url: 'http://x', secret: 's' }, [
      { who: who('usage-consumer'), progress: () => usage.now },
    ]);
    await dataSource.query(
      `ALTER TABLE "${schema}"."webhook_deliveries" RENAME TO "webhook_deliveries_away"`,
    );
    try {
      expect(await alerts.check()).toEqual([]);
    } finally {
      await dataSource.query(
        `ALTER TABLE "${schema}"."webhook_deliveries_away" RENAME TO "webhook_deliveries"`,
      );
    }
    expect((await alerts.check()).map((a) => a.type)).toEqual(['consumer.stalled']);
    expect((await queued()).map((p) => p.type)).toEqual(['consumer.stalled']);
  });
});
