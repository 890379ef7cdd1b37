import { testConfig } from '@paygate/testing';
import { randomBytes } from 'node:crypto';
import {
  DataSource,
  type EntityManager,
  QueryFailedError,
  QueryRunnerAlreadyReleasedError,
} from 'typeorm';
import { preparedQuery } from './prepared-query';

describe('preparedQuery (real Postgres)', () => {
  const schema = `itest_prepared_${randomBytes(4).toString('hex')}`;
  const table = `"${schema}".things`;
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = new DataSource({
      type: 'postgres',
      url: testConfig().databaseUrl,
      extra: { max: 2 },
    });
    await dataSource.initialize();
    await dataSource.query(`CREATE SCHEMA "${schema}"`);
    await dataSource.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text NOT NULL)`);
  });
  afterAll(async () => {
    await dataSource.query(`DROP SCHEMA "${schema}" CASCADE`);
    await dataSource.destroy();
  });

  /** A data source of one connection, so a statement is prepared where it is used next. */
  async function withOneConnection(use: (single: DataSource) => Promise<void>): Promise<void> {
    const single = new DataSource({
      type: 'postgres',
      url: testConfig().databaseUrl,
      extra: { max: 1 },
    });
    await single.initialize();
    try {
      await use(single);
    } finally {
      await single.destroy();
    }
  }

  const insert = `INSERT INTO ${table} (id, name) VALUES ($1, $2) RETURNING id, name`;
  const byId = `SELECT id, name FROM ${table} WHERE id = $1`;
  const prepared = `SELECT name FROM pg_prepared_statements WHERE statement = $1`;

  it('runs in the transaction of the manager it is given, and rolls back with it', async () => {
    await expect(
      dataSource.transaction(async (manager) => {
        expect(await preparedQuery(manager, insert, [1, 'one'])).toEqual([{ id: 1, name: 'one' }]);
        // The transaction's own connection sees its uncommitted row, TypeORM's query too.
        expect(await preparedQuery(manager, byId, [1])).toEqual([{ id: 1, name: 'one' }]);
        expect(await manager.query(byId, [1])).toEqual([{ id: 1, name: 'one' }]);
        // Outside it, the pool's other connection does not.
        expect(await preparedQuery(dataSource.manager, byId, [1])).toEqual([]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await preparedQuery(dataSource.manager, byId, [1])).toEqual([]);
  });

  it('prepares a statement once per connection, under a name derived from its text', async () => {
    await dataSource.transaction(async (manager) => {
      await preparedQuery(manager, byId, [2]);
      await preparedQuery(manager, byId, [3]);
      const names: { name: string }[] = await manager.query(prepared, [byId]);
      expect(names).toHaveLength(1);
      expect(names[0].name).toMatch(/^paygate_[0-9a-f]{24}$/);
      // Another statement, another name.
      await preparedQuery(manager, insert, [4, 'four']);
      const other: { name: string }[] = await manager.query(prepared, [insert]);
      expect(other[0].name).not.toBe(names[0].name);
    });
  });

  it('replaces a connection whose statement a migration made stale, in a transaction or not', async () => {
    const labels = `"${schema}".labels`;
    const read = `SELECT id, label FROM ${labels} WHERE id = $1`;
    await withOneConnection(async (single) => {
      await single.query(`CREATE TABLE ${labels} (id int PRIMARY KEY, label text)`);
      await single.query(`INSERT INTO ${labels} VALUES (1, 'a')`);
      expect(await preparedQuery(single.manager, read, [1])).toEqual([{ id: 1, label: 'a' }]);
      // What a rolling deploy's migration may do while instances serve.
      await single.query(`ALTER TABLE ${labels} ALTER COLUMN label TYPE varchar(20)`);
      await expect(preparedQuery(single.manager, read, [1])).rejects.toMatchObject({
        code: '0A000',
      });
      // The pool's next connection prepares it afresh.
      expect(await preparedQuery(single.manager, read, [1])).toEqual([{ id: 1, label: 'a' }]);

      await single.query(`ALTER TABLE ${labels} ALTER COLUMN label TYPE text`);
      const stale = single.transaction((manager) => preparedQuery(manager, read, [1]));
      await expect(stale).rejects.toMatchObject({ code: '0A000' });
      expect(await single.transaction((manager) => preparedQuery(manager, read, [1]))).toEqual([
        { id: 1, label: 'a' },
      ]);
    });
  });

  it('keeps the connection after a statement’s own error, and refuses a released runner', async () => {
    await withOneConnection(async (single) => {
      const pid = `SELECT pg_backend_pid() AS pid`;
      const [before] = await preparedQuery<{ pid: number }>(single.manager, pid, []);
      await expect(
        preparedQuery(single.manager, `SELECT 1 / $1::int AS x`, [0]),
      ).rejects.toMatchObject({ code: '22012' });
      const [after] = await preparedQuery<{ pid: number }>(single.manager, pid, []);
      expect(after.pid).toBe(before.pid);

      let leaked: EntityManager | undefined;
      await single.transaction(async (manager) => {
        leaked = manager;
      });
      await expect(preparedQuery(leaked!, pid, [])).rejects.toBeInstanceOf(
        QueryRunnerAlreadyReleasedError,
      );
    });
  });

  it('fails as manager.query does: a QueryFailedError with the driver’s code', async () => {
    await preparedQuery(dataSource.manager, insert, [5, 'five']);
    const failure = await preparedQuery(dataSource.manager, insert, [5, 'again']).catch(
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(QueryFailedError);
    expect(failure).toMatchObject({ code: '23505', query: insert, parameters: [5, 'again'] });
    // A failed statement in a transaction fails the transaction, as any statement does.
    const inTransaction = dataSource.transaction((manager) =>
      preparedQuery(manager, `SELECT 1 / $1::int AS x`, [0]),
    );
    await expect(inTransaction).rejects.toMatchObject({ code: '22012' });
  });
});
