import { PgIdempotencyStore } from '@paygate/database';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { randomUUID } from 'node:crypto';
import { ENTITLEMENT_SCHEMA } from './entitlement.data-source';
import { IdempotencyKeysPruner } from './idempotency-keys-pruner';

describe('IdempotencyKeysPruner (real Postgres)', () => {
  let fx: EntitlementFixture;
  let store: PgIdempotencyStore;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(2);
    store = new PgIdempotencyStore(fx.dataSource, ENTITLEMENT_SCHEMA);
  });
  afterAll(() => fx.close());

  /** A key whose request completed (`done`) as if first sent `hoursAgo` hours ago. */
  const completed = async (key: string, hoursAgo: number) => {
    expect(await store.claim(key, 'f')).toEqual({ state: 'new' });
    await store.complete(key, 201, { key });
    await fx.dataSource.query(
      `UPDATE "entitlement"."idempotency_keys"
       SET "created_at" = now() - make_interval(hours => $2) WHERE "key" = $1`,
      [key, hoursAgo],
    );
    return key;
  };
  const left = async (keys: string[]) => {
    const rows: { key: string }[] = await fx.dataSource.query(
      `SELECT "key" FROM "entitlement"."idempotency_keys" WHERE "key" = ANY($1)`,
      [keys],
    );
    return rows.map((r) => r.key).sort();
  };

  it('forgets keys past the retention in batches; kept ones replay, others run again', async () => {
    // Other tests' keys share the table: every key made here is named apart.
    const run = randomUUID();
    const old: string[] = [];
    for (let i = 0; i < 5; i++) old.push(await completed(`${run}:old-${i}`, 169 + i * 100));
    const kept = [await completed(`${run}:new`, 167), await completed(`${run}:fresh`, 0)];
    const pruner = new IdempotencyKeysPruner(store, { idempotencyKeysRetentionHours: 168 });
    // Batches of 2: the five old keys go in three deletes (2, 2, then 1 or more).
    expect(await pruner.prune(2)).toBeGreaterThanOrEqual(old.length);
    expect(await left([...old, ...kept])).toEqual([...kept].sort());
    // A key within the retention still replays its first response.
    expect(await store.claim(kept[0], 'f')).toEqual({
      state: 'done',
      status: 201,
      body: { key: kept[0] },
    });
    // A forgotten key is a new request again, even with another body.
    expect(await store.claim(old[0], 'another')).toEqual({ state: 'new' });
    // Nothing past the retention is left: another run deletes nothing of these.
    expect(await pruner.prune(2)).toBe(0);
    expect(await left(kept)).toEqual([...kept].sort());
  });

  it('deletes at most a batch per statement, oldest first', async () => {
    const run = randomUUID();
    const keys: string[] = [];
    // Older than anything other tests make, so these are the oldest keys in the table.
    for (let i = 0; i < 3; i++) keys.push(await completed(`${run}:${i}`, 100_000 + i));
    expect(await store.forgetOlderThan(99_999, 2)).toBe(2);
    expect(await left(keys)).toEqual([keys[0]]);
    expect(await store.forgetOlderThan(99_999, 2)).toBe(1);
    expect(await left(keys)).toEqual([]);
  });
});
