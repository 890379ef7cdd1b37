import { metricsRegistry } from '@paygate/observability';
import { testConfig } from '@paygate/testing';
import { ownOutboxForFile } from '@test/own-outbox';
import { DataSource } from 'typeorm';
import { watchDatabase } from './database-metrics';

/** The values a scrape reads now, by their labels. */
async function scrape(name: string): Promise<Record<string, number>> {
  const metric = metricsRegistry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  return Object.fromEntries(values.map((v) => [Object.values(v.labels).join(','), v.value]));
}

describe('database metrics at scrape time (real Postgres)', () => {
  // An outbox of this test's own: the services' outboxes hold other tests' rows.
  const own = ownOutboxForFile();
  const { schema } = own;

  it("reads the oldest unpublished, unparked outbox message's age, 0 with none", async () => {
    watchDatabase(own.dataSource, schema);
    expect((await scrape('paygate_outbox_oldest_age_seconds'))[schema]).toBe(0);
    await own.dataSource.query(
      `INSERT INTO "${schema}"."outbox" ("topic", "key", "value", "created_at", "parked_at")
       VALUES ('t', 'k', 'v', now() - interval '600 s', now()),
              ('t', 'k', 'v', now() - interval '90 s', NULL),
              ('t', 'k', 'v', now() - interval '5 s', NULL)`,
    );
    const age = (await scrape('paygate_outbox_oldest_age_seconds'))[schema];
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(120);
  });

  it('gives no value, rather than a stale one, while the outbox cannot be read', async () => {
    const other = await new DataSource({
      type: 'postgres',
      url: testConfig().databaseUrl,
    }).initialize();
    try {
      watchDatabase(other, `${schema}_missing`);
      const values = await scrape('paygate_outbox_oldest_age_seconds');
      expect(values).not.toHaveProperty(`${schema}_missing`);
      expect(values).toHaveProperty(schema);
    } finally {
      await other.destroy();
    }
  });

  it("counts the pool's connections in use, idle and waiting, and forgets a closed DataSource", async () => {
    const small = await new DataSource({
      type: 'postgres',
      url: testConfig().databaseUrl,
      extra: { max: 1 },
    }).initialize();
    const before = await scrape('paygate_db_pool_connections');
    const runner = small.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    // The pool's only connection is held: the next query queues for it.
    const queued = small.query('SELECT 1');
    try {
      watchDatabase(small, schema);
      const held = await scrape('paygate_db_pool_connections');
      expect(held.in_use - before.in_use).toBe(1);
      expect(held.waiting - before.waiting).toBe(1);
      // A scrape of the outbox's age asks nothing while callers wait: none is added to them.
      await scrape('paygate_outbox_oldest_age_seconds');
      expect((await scrape('paygate_db_pool_connections')).waiting - before.waiting).toBe(1);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
      await queued;
    }
    const released = await scrape('paygate_db_pool_connections');
    expect(released.in_use).toBe(before.in_use);
    expect(released.waiting).toBe(before.waiting);
    expect(released.idle - before.idle).toBe(1);

    await small.destroy();
    expect(await scrape('paygate_db_pool_connections')).toEqual(before);
  });
});
