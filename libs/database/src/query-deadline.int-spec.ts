import { Logger } from '@nestjs/common';
import { TcpRelay, testConfig, waitFor } from '@paygate/testing';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { createServiceDataSource } from './data-source';
import { preparedQuery } from './prepared-query';
import { DEADLINE_GRACE_MS, QUERY_DEADLINE_PASSED } from './query-deadline';

/**
 * Postgres reached through a relay of the test's own that can go silent (`freeze`: every
 * connection stays open and nothing comes back, as from a host lost to a network fault) or
 * away. Without the deadline each query below that meets a frozen relay waits for ever
 * (until Jest's timeout); with it, each fails with QUERY_DEADLINE_PASSED and the pool
 * recovers on its own once Postgres answers again.
 */
describe('query deadline: a Postgres that stops answering (real Postgres)', () => {
  const target = new URL(testConfig().databaseUrl);
  const STATEMENT_TIMEOUT_MS = 400;
  let relay: TcpRelay;
  let dataSource: DataSource;

  const open = (statementTimeoutMs?: number, poolSize = 2) =>
    createServiceDataSource({
      url: relay.urlFor(target.href),
      schema: 'public',
      applicationName: 'itest-query-deadline',
      entities: [],
      migrations: [],
      poolSize,
      statementTimeoutMs,
    }).initialize();
  const pool = (ds: DataSource) => (ds.driver as unknown as { master: Pool }).master;
  const failure = (work: Promise<unknown>) =>
    work.then(
      () => {
        throw new Error('expected the query to fail');
      },
      (err: { code?: string; message: string }) => err,
    );

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    relay = await new TcpRelay(target.hostname, Number(target.port || 5432)).start();
  });
  beforeEach(async () => {
    relay.thaw();
    dataSource = await open(STATEMENT_TIMEOUT_MS);
  });
  afterEach(async () => {
    relay.thaw();
    await dataSource.destroy();
  });
  afterAll(async () => {
    await relay.cut();
    jest.restoreAllMocks();
  });

  it('sets statement_timeout and idle_in_transaction_session_timeout on every session', async () => {
    const [row] = await dataSource.query(
      `SELECT current_setting('statement_timeout') AS "statement",
              current_setting('idle_in_transaction_session_timeout') AS "idle"`,
    );
    expect(row).toEqual({ statement: '400ms', idle: '5min' });
  });

  it('leaves sessions without a timeout when none is given (migrations, scripts)', async () => {
    const unbounded = await open(undefined);
    try {
      const [row] = await unbounded.query(
        `SELECT current_setting('statement_timeout') AS "statement", pg_sleep(0.6)::text`,
      );
      expect(row.statement).toBe('0');
    } finally {
      await unbounded.destroy();
    }
  });

  /** Runs `between` on a pool of one connection and says whether that connection lived. */
  const sameConnectionAfter = async (between: (ds: DataSource) => Promise<void>) => {
    const narrow = await open(STATEMENT_TIMEOUT_MS, 1);
    try {
      const pidOf = async () => (await narrow.query('SELECT pg_backend_pid() AS "pid"'))[0].pid;
      const pid = await pidOf();
      await between(narrow);
      return (await pidOf()) === pid;
    } finally {
      await narrow.destroy();
    }
  };

  it('a statement that runs too long is cancelled by Postgres and its connection kept', async () => {
    const kept = await sameConnectionAfter(async (narrow) => {
      const err = await failure(narrow.query('SELECT pg_sleep(5)'));
      expect(err.code).toBe('57014');
    });
    expect(kept).toBe(true);
  });

  it('keeps a connection that answers, however long it then stays idle', async () => {
    // Idle past the deadline: answered queries leave no timer behind to end it.
    const kept = await sameConnectionAfter(
      () =>
        new Promise((resolve) =>
          setTimeout(resolve, STATEMENT_TIMEOUT_MS + DEADLINE_GRACE_MS + 300),
        ),
    );
    expect(kept).toBe(true);
  });

  it('a query through the pool itself (its callback form) gets the deadline too', async () => {
    await dataSource.query('SELECT 1');
    relay.freeze();
    const err = await failure(pool(dataSource).query('SELECT 1'));
    expect(err.code).toBe(QUERY_DEADLINE_PASSED);
    relay.thaw();
    expect((await pool(dataSource).query('SELECT 4 AS "n"')).rows).toEqual([{ n: 4 }]);
  });

  it('a query without an answer ends its connection; the next one gets a new connection', async () => {
    await dataSource.query('SELECT 1');
    const before = pool(dataSource).totalCount;
    relay.freeze();
    const err = await failure(dataSource.query('SELECT 1'));
    expect(err.code).toBe(QUERY_DEADLINE_PASSED);
    expect(err.message).toContain(`${STATEMENT_TIMEOUT_MS + DEADLINE_GRACE_MS} ms`);
    expect(pool(dataSource).totalCount).toBe(before - 1);

    relay.thaw();
    expect(await dataSource.query('SELECT 2 AS "n"')).toEqual([{ n: 2 }]);
  });

  it('fails a transaction cut short, and its connection does not come back to the pool', async () => {
    await dataSource.query(
      'CREATE TABLE IF NOT EXISTS "itest_query_deadline" ("id" int PRIMARY KEY, "n" int)',
    );
    await dataSource.query(
      `INSERT INTO "itest_query_deadline" VALUES (1, 0)
       ON CONFLICT ("id") DO UPDATE SET "n" = 0`,
    );
    const before = pool(dataSource).totalCount;
    const err = await failure(
      dataSource.transaction(async (manager) => {
        await manager.query('UPDATE "itest_query_deadline" SET "n" = "n" + 1 WHERE "id" = 1');
        relay.freeze();
        await manager.query('UPDATE "itest_query_deadline" SET "n" = "n" + 1 WHERE "id" = 1');
      }),
    );
    expect(err.code).toBe(QUERY_DEADLINE_PASSED);
    expect(pool(dataSource).totalCount).toBe(before - 1);
    relay.thaw();
    // The server ends the session of the closed connection once the relay passes on its close,
    // and rolls its transaction back, which frees the row for this update.
    await waitFor(async () => {
      const [open] = await dataSource.query(
        `SELECT count(*)::int AS "n" FROM pg_stat_activity
         WHERE application_name = 'itest-query-deadline' AND state LIKE 'idle in transaction%'`,
      );
      return open.n === 0;
    });
    await dataSource.query('UPDATE "itest_query_deadline" SET "n" = "n" + 10 WHERE "id" = 1');
    const [row] = await dataSource.query('SELECT "n" FROM "itest_query_deadline" WHERE "id" = 1');
    expect(row.n).toBe(10);
  });

  it('a prepared statement on a connection of its own fails the same way, without a crash', async () => {
    const sql = 'SELECT $1::int AS "n"';
    expect(await preparedQuery(dataSource.manager, sql, [1])).toEqual([{ n: 1 }]);
    relay.freeze();
    const err = await failure(preparedQuery(dataSource.manager, sql, [2]));
    expect(err.code).toBe(QUERY_DEADLINE_PASSED);
    relay.thaw();
    expect(await preparedQuery(dataSource.manager, sql, [3])).toEqual([{ n: 3 }]);
  });

  it('a new connection to an address that does not answer gives up instead of waiting', async () => {
    // Only new connections from here: the open ones go, and the relay listens again frozen.
    await relay.cut();
    await waitFor(() => pool(dataSource).totalCount === 0);
    relay.freeze();
    await relay.start();
    const err = await failure(dataSource.query('SELECT 1'));
    expect(err.message).toMatch(/timeout/i);
    relay.thaw();
    expect(await dataSource.query('SELECT 3 AS "n"')).toEqual([{ n: 3 }]);
  });
});
