import { UNFINISHED_AFTER_SECONDS } from '@paygate/http';
import { testConfig } from '@paygate/testing';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { idempotencyTableSql, PgIdempotencyStore } from './idempotency-store';

describe('PgIdempotencyStore (real Postgres)', () => {
  const schema = `itest_idem_${randomBytes(4).toString('hex')}`;
  let dataSource: DataSource;
  let store: PgIdempotencyStore;

  beforeAll(async () => {
    dataSource = await new DataSource({
      type: 'postgres',
      url: testConfig().databaseUrl,
    }).initialize();
    await dataSource.query(`CREATE SCHEMA "${schema}"`);
    await dataSource.query(idempotencyTableSql(schema));
    store = new PgIdempotencyStore(dataSource, schema);
  });
  afterAll(async () => {
    await dataSource.query(`DROP SCHEMA "${schema}" CASCADE`);
    await dataSource.destroy();
  });

  /** Makes a claim look as if it were made `seconds` ago. */
  const age = (key: string, seconds: number) =>
    dataSource.query(
      `UPDATE "${schema}"."idempotency_keys" SET "created_at" = now() - make_interval(secs => $2)
       WHERE "key" = $1`,
      [key, seconds],
    );

  it('claims a key once; the same request again is in progress, another is a mismatch', async () => {
    expect(await store.claim('k1', 'f1')).toEqual({ state: 'new' });
    expect(await store.claim('k1', 'f1')).toEqual({ state: 'in-progress' });
    expect(await store.claim('k1', 'f2')).toEqual({ state: 'mismatch' });
    await store.complete('k1', 201, { id: 7 });
    expect(await store.claim('k1', 'f1')).toEqual({ state: 'done', status: 201, body: { id: 7 } });
  });

  it('calls a claim never completed within UNFINISHED_AFTER_SECONDS unfinished, never new', async () => {
    expect(await store.claim('k2', 'f')).toEqual({ state: 'new' });
    await age('k2', UNFINISHED_AFTER_SECONDS - 30);
    expect(await store.claim('k2', 'f')).toEqual({ state: 'in-progress' });
    await age('k2', UNFINISHED_AFTER_SECONDS + 1);
    expect(await store.claim('k2', 'f')).toEqual({ state: 'unfinished' });
    // A completed response is replayed however old it is.
    await store.complete('k2', 200, { ok: true });
    expect(await store.claim('k2', 'f')).toMatchObject({ state: 'done', status: 200 });
  });

  it('forgets keys past the retention, oldest first, at most a batch a statement', async () => {
    const hour = 3600;
    for (const [key, hours] of [
      ['p-old-done', 30],
      ['p-old-unfinished', 26],
      ['p-older', 40],
      ['p-kept', 23],
    ] as const) {
      expect(await store.claim(key, 'f')).toEqual({ state: 'new' });
      if (key !== 'p-old-unfinished') await store.complete(key, 200, { key });
      await age(key, hours * hour);
    }
    expect(await store.forgetOlderThan(24, 2)).toBe(2);
    // The two oldest went; the next statement takes the one left past the retention.
    expect(await store.claim('p-older', 'f')).toEqual({ state: 'new' });
    expect(await store.claim('p-old-done', 'f')).toEqual({ state: 'new' });
    expect(await store.claim('p-old-unfinished', 'f')).toEqual({ state: 'unfinished' });
    expect(await store.forgetOlderThan(24, 2)).toBe(1);
    // An unfinished claim past the retention is forgotten too: the request may run again.
    expect(await store.claim('p-old-unfinished', 'f')).toEqual({ state: 'new' });
    // One within the retention still replays its response.
    expect(await store.claim('p-kept', 'f')).toEqual({
      state: 'done',
      status: 200,
      body: { key: 'p-kept' },
    });
    expect(await store.forgetOlderThan(24, 2)).toBe(0);
  });

  it('frees an abandoned claim (the request failed) for a new run', async () => {
    expect(await store.claim('k3', 'f')).toEqual({ state: 'new' });
    await store.abandon('k3');
    expect(await store.claim('k3', 'f')).toEqual({ state: 'new' });
  });
});
