import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { meteringDataSource } from '../database/metering.data-source';
import { UnmatchedEventsRepository } from './unmatched-events.repository';
import { UnmatchedEventsPruner } from './unmatched-events-pruner';

describe('UnmatchedEventsPruner (real Postgres)', () => {
  let dataSource: DataSource;
  let unmatched: UnmatchedEventsRepository;

  beforeAll(async () => {
    dataSource = await meteringDataSource(testConfig().databaseUrl, 2).initialize();
    unmatched = new UnmatchedEventsRepository(dataSource);
  });
  afterAll(() => dataSource.destroy());

  /** Counts 3 events of `type` on the UTC day `daysAgo` days before today. */
  const counted = async (type: string, daysAgo: number) => {
    await dataSource.query(
      `INSERT INTO "metering"."unmatched_events" ("event_type", "day", "count")
       VALUES ($1, (now() AT TIME ZONE 'UTC')::date - $2::int, 3)`,
      [type, daysAgo],
    );
    return daysAgo;
  };
  /** How many days ago each day of counts of `prefix` types left is. */
  const left = async (prefix: string) => {
    const rows: { ago: number }[] = await dataSource.query(
      `SELECT (now() AT TIME ZONE 'UTC')::date - "day" AS "ago"
       FROM "metering"."unmatched_events" WHERE "event_type" LIKE $1 || '%' ORDER BY 1`,
      [prefix],
    );
    return rows.map((r) => r.ago);
  };

  it('deletes days before the retention in batches; keeps those within and today', async () => {
    // Other tests' counts share the table: these are of types of their own.
    const type = `itest.prune.${randomUUID()}`;
    for (const daysAgo of [91, 92, 120, 400, 1_000]) await counted(`${type}.a`, daysAgo);
    const kept = [await counted(`${type}.a`, 0), await counted(`${type}.b`, 90)];
    await counted(`${type}.a`, 90);
    const pruner = new UnmatchedEventsPruner(unmatched, { unmatchedEventsRetentionDays: 90 });
    // Batches of 2: the five old days go in three deletes.
    expect(await pruner.prune(2)).toBeGreaterThanOrEqual(5);
    expect(await left(type)).toEqual([...kept, 90].sort((a, b) => a - b));
    // Nothing past the retention is left: another run deletes nothing of these.
    expect(await pruner.prune(2)).toBe(0);
    // What is left is still listed.
    const [listed] = await unmatched
      .list(undefined, undefined)
      .then((types) => types.filter((t) => t.eventType === `${type}.a`));
    expect(listed.count).toBe('6');
  });

  it('deletes at most a batch per statement, oldest first', async () => {
    const type = `itest.prune.${randomUUID()}`;
    // Older than anything other tests make, so these are the oldest days in the table.
    for (const daysAgo of [20_001, 20_002, 20_003]) await counted(type, daysAgo);
    expect(await unmatched.forgetOlderThan(20_000, 2)).toBe(2);
    expect(await left(type)).toEqual([20_001]);
    expect(await unmatched.forgetOlderThan(20_000, 2)).toBe(1);
    expect(await left(type)).toEqual([]);
  });
});
