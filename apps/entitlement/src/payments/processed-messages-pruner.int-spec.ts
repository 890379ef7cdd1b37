import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { processedMessages } from './processed-messages.repository';
import { ProcessedMessagesPruner } from './processed-messages-pruner';

describe('ProcessedMessagesPruner (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(2);
  });
  afterAll(() => fx.close());

  /** Claims a message id as processed `hoursAgo` hours ago. */
  const claimed = async (id: string, hoursAgo: number) => {
    expect(await processedMessages.claim(fx.dataSource.manager, id)).toBe(true);
    await fx.dataSource.query(
      `UPDATE "entitlement"."processed_messages"
       SET "processed_at" = now() - make_interval(hours => $2) WHERE "id" = $1`,
      [id, hoursAgo],
    );
    return id;
  };
  const left = async (ids: string[]) => {
    const rows: { id: string }[] = await fx.dataSource.query(
      `SELECT "id" FROM "entitlement"."processed_messages" WHERE "id" = ANY($1)`,
      [ids],
    );
    return rows.map((r) => r.id).sort();
  };

  it('forgets claims past the retention in batches, keeps newer ones and every payment’s', async () => {
    // Other tests' claims share the table: every claim made here is named apart.
    const run = randomUUID();
    const old = [
      await claimed(`usage-recorded:${run}:1`, 721),
      await claimed(`usage-recorded:${run}:2`, 2_000),
      await claimed(`lease-release:${run}:r1`, 800),
      await claimed(`usage-recorded:${run}:3`, 5_000),
      await claimed(`usage-recorded:${run}:4`, 900),
    ];
    const kept = [
      await claimed(`usage-recorded:${run}:new`, 719),
      await claimed(`lease-release:${run}:r2`, 1),
      await claimed(`payment:stripe:${run}`, 10_000),
    ];
    const pruner = new ProcessedMessagesPruner(fx.dataSource, {
      PROCESSED_MESSAGES_RETENTION_HOURS: 720,
    });
    // Batches of 2: the five old claims go in three deletes.
    expect(await pruner.prune(2)).toBeGreaterThanOrEqual(old.length);
    expect(await left([...old, ...kept])).toEqual([...kept].sort());
    // A kept claim still stops its message being applied twice.
    expect(await processedMessages.claim(fx.dataSource.manager, kept[0])).toBe(false);
    expect(await processedMessages.claim(fx.dataSource.manager, kept[2])).toBe(false);
    // Nothing past the retention is left: another run deletes nothing of these.
    expect(await pruner.prune(2)).toBe(0);
  });
});
