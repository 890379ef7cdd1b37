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
      .then(({ types }) => types.filter((t) => t.eventType === `${type}.a`));
    expect(listed.count).toBe('6');
  });

  it('lists the most frequent types first, and says when it lists fewer than there are', async () => {
    const type = `itest.list.${randomUUID()}`;
    // Days far back, which no other test's window reaches: these are the only types there.
    const from = await dataSource
      .query(`SELECT ((now() AT TIME ZONE 'UTC')::date - 30002)::text AS "day"`)
      .then((rows: { day: string }[]) => rows[0].day);
    const to = await dataSource
      .query(`SELECT ((now() AT TIME ZONE 'UTC')::date - 30000)::text AS "day"`)
      .then((rows: { day: string }[]) => rows[0].day);
    // 3, 6 and 9 events (one, two and three days of 3).
    await counted(`${type}.one`, 30_000);
    for (const ago of [30_000, 30_001]) await counted(`${type}.two`, ago);
    for (const ago of [30_000, 30_001, 30_002]) await counted(`${type}.three`, ago);
    const all = await unmatched.list(from, to);
    expect(all.types.map((t) => [t.eventType, t.count])).toEqual([
      [`${type}.three`, '9'],
      [`${type}.two`, '6'],
      [`${type}.one`, '3'],
    ]);
    expect(all).toMatchObject({ typeCount: 3, truncated: false });
    const cut = await unmatched.list(from, to, 2);
    expect(cut.types.map((t) => t.eventType)).toEqual([`${type}.three`, `${type}.two`]);
    expect(cut).toMatchObject({ typeCount: 3, truncated: true });
    // One day of the three: each type has counts on it.
    expect(await unmatched.list(to, to).then((l) => l.typeCount)).toBe(3);
    await unmatched.forgetOlderThan(29_999, 100);
    expect(await unmatched.list(from, to)).toEqual({ types: [], typeCount: 0, truncated: false });
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
