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

  it('frees an abandoned claim (the request failed) for a new run', async () => {
    expect(await store.claim('k3', 'f')).toEqual({ state: 'new' });
    await store.abandon('k3');
    expect(await store.claim('k3', 'f')).toEqual({ state: 'new' });
  });
});
