import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { meteringDataSource } from '../database/metering.data-source';
import { DeadLettersPruner } from './dead-letters-pruner';
import { deadLetters } from './dead-letters.repository';

describe('DeadLettersPruner (real Postgres)', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await meteringDataSource(testConfig().databaseUrl, 2).initialize();
  });
  afterAll(() => dataSource.destroy());

  /** Records a letter of `topic` at `offset` as if `hoursAgo` hours ago; replayable. */
  const letter = async (topic: string, offset: number, hoursAgo: number, replayed = false) => {
    await dataSource.query(
      `INSERT INTO "metering"."dead_letters" ("topic", "partition", "offset", "kafka_timestamp",
         "reason", "detail", "value", "created_at", "replayed_at")
       VALUES ($1, 0, $2, 1, 'itest-prune', 'x', '\\x7b7d',
         now() - make_interval(hours => $3), CASE WHEN $4 THEN now() END)`,
      [topic, offset, hoursAgo, replayed],
    );
    return offset;
  };
  const left = async (topic: string) => {
    const rows: { offset: string }[] = await dataSource.query(
      `SELECT "offset" FROM "metering"."dead_letters" WHERE "topic" = $1 ORDER BY "offset"`,
      [topic],
    );
    return rows.map((r) => Number(r.offset));
  };

  it('deletes letters past the retention in batches, replayed or not; keeps newer', async () => {
    // Other tests' letters share the table: these are on a topic of their own.
    const topic = `itest-prune-${randomUUID()}`;
    const old = [
      await letter(topic, 1, 721),
      await letter(topic, 2, 2_000, true),
      await letter(topic, 3, 800),
      await letter(topic, 4, 5_000),
      await letter(topic, 5, 900, true),
    ];
    const kept = [await letter(topic, 6, 719), await letter(topic, 7, 1, true)];
    const pruner = new DeadLettersPruner(dataSource, { deadLetterRetentionHours: 720 });
    // Batches of 2: the five old letters go in three deletes.
    expect(await pruner.prune(2)).toBeGreaterThanOrEqual(old.length);
    expect(await left(topic)).toEqual(kept);
    // Nothing past the retention is left: another run deletes nothing of these.
    expect(await pruner.prune(2)).toBe(0);
    expect(await left(topic)).toEqual(kept);
  });

  it('deletes at most a batch per statement, oldest first', async () => {
    const topic = `itest-prune-${randomUUID()}`;
    // Older than anything other tests make, so these are the oldest letters in the table.
    for (const offset of [1, 2, 3]) await letter(topic, offset, 100_000 + offset);
    expect(await deadLetters.forgetOlderThan(dataSource, 99_999, 2)).toBe(2);
    expect(await left(topic)).toEqual([1]);
    expect(await deadLetters.forgetOlderThan(dataSource, 99_999, 2)).toBe(1);
    expect(await left(topic)).toEqual([]);
  });
});
