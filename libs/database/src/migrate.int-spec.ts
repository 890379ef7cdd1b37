import { testConfig, waitFor } from '@paygate/testing';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { migrate } from './data-source';

/** A migration of a test schema: its SQL, with `%s` for the schema. */
function migration(name: string, sql: string): new () => MigrationInterface {
  return class implements MigrationInterface {
    name = name;
    async up(queryRunner: QueryRunner): Promise<void> {
      const schema = (queryRunner.connection.options as { schema: string }).schema;
      await queryRunner.query(sql.replace(/%s/g, `"${schema}"`));
    }
    async down(): Promise<void> {}
  };
}

const CreateThings = migration(
  'CreateThings1700000000000',
  // Slow on purpose, so that two runs started together overlap.
  `CREATE TABLE %s.things (id int PRIMARY KEY); SELECT pg_sleep(0.5)`,
);
const AddColour = migration(
  'AddColour1700000000001',
  `ALTER TABLE %s.things ADD COLUMN colour text`,
);

describe('migrate (real Postgres)', () => {
  const dataSources: DataSource[] = [];
  const schemas: string[] = [];

  const newSchema = () => {
    const schema = `itest_migrate_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    return schema;
  };
  const dataSourceFor = (
    schema: string,
    migrations: (new () => MigrationInterface)[],
    poolSize = 2,
  ) => {
    const dataSource = new DataSource({
      type: 'postgres',
      url: testConfig().databaseUrl,
      schema,
      migrations,
      migrationsTableName: 'migrations',
      extra: { max: poolSize },
    });
    dataSources.push(dataSource);
    return dataSource;
  };
  const sql = async <T>(text: string): Promise<T[]> => {
    const client = new Client({ connectionString: testConfig().databaseUrl });
    await client.connect();
    try {
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end();
    }
  };

  afterAll(async () => {
    await Promise.all(dataSources.filter((d) => d.isInitialized).map((d) => d.destroy()));
    for (const schema of schemas) await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  it('applies each migration once when two runs start together (setup.js twice at once)', async () => {
    const schema = newSchema();
    // A short lock_timeout: waiting for the other run's turn is not bounded by it.
    const runs = await Promise.all([
      migrate(dataSourceFor(schema, [CreateThings, AddColour]), { lockTimeoutMs: 100 }),
      migrate(dataSourceFor(schema, [CreateThings, AddColour]), { lockTimeoutMs: 100 }),
    ]);
    // One run applied both, the other found nothing left to do.
    expect(runs.flat().sort()).toEqual(['AddColour1700000000001', 'CreateThings1700000000000']);
    expect(runs.map((names) => names.length).sort()).toEqual([0, 2]);
    const recorded = await sql<{ name: string }>(`SELECT name FROM "${schema}".migrations`);
    expect(recorded).toHaveLength(2);
  });

  it('gives up on a migration that waits for a table another transaction holds, and can run again', async () => {
    const schema = newSchema();
    expect(await migrate(dataSourceFor(schema, [CreateThings]))).toEqual([
      'CreateThings1700000000000',
    ]);
    // A long transaction that has read the table (a running instance's, say): ALTER TABLE
    // needs the table to itself and would wait for it to end, and every insert behind it.
    const holder = new Client({ connectionString: testConfig().databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT count(*) FROM "${schema}".things`);
      const migrating = migrate(dataSourceFor(schema, [CreateThings, AddColour]), {
        lockTimeoutMs: 2_000,
      });
      // An insert that comes while the ALTER waits queues behind it, and goes through once the
      // migration gives up, while the long transaction is still open.
      await waitFor(
        async () =>
          (
            await sql<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE "${schema}"%'`,
            )
          )[0].n === 1,
      );
      const inserting = sql(`INSERT INTO "${schema}".things (id) VALUES (1)`);
      await expect(migrating).rejects.toThrow(
        /waited 2000 ms for a table that another transaction holds/,
      );
      await inserting;
      // Rolled back whole: not recorded, no column.
      const recorded = await sql<{ name: string }>(`SELECT name FROM "${schema}".migrations`);
      expect(recorded.map((r) => r.name)).toEqual(['CreateThings1700000000000']);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect(
      await migrate(dataSourceFor(schema, [CreateThings, AddColour]), { lockTimeoutMs: 300 }),
    ).toEqual(['AddColour1700000000001']);
  });

  it('gives up waiting for its turn when another run holds it too long, naming that run', async () => {
    const schema = newSchema();
    const other = new Client({ connectionString: testConfig().databaseUrl });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [
        `paygate-migrations:${schema}`,
      ]);
      const [{ pid }] = (await other.query('SELECT pg_backend_pid() AS pid')).rows;
      await expect(
        migrate(dataSourceFor(schema, [CreateThings]), { turnTimeoutMs: 600 }),
      ).rejects.toThrow(new RegExp(`backend ${pid}\\) held them for 600 ms; nothing was applied`));
      const [exists] = await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = '${schema}'`,
      );
      expect(exists.n).toBe(0);
    } finally {
      await other.end();
    }
    // Its turn free again (the session that held it is gone), the run goes ahead.
    expect(await migrate(dataSourceFor(schema, [CreateThings]))).toEqual([
      'CreateThings1700000000000',
    ]);
  });

  it('hands its connection back without its lock or lock_timeout', async () => {
    const schema = newSchema();
    const dataSource = dataSourceFor(schema, [CreateThings], 1);
    await dataSource.initialize();
    await migrate(dataSource, { lockTimeoutMs: 300 });
    // The pool has one connection: the one the migrations ran on.
    const [setting] = await dataSource.query(`SHOW lock_timeout`);
    expect(setting.lock_timeout).toBe('0');
    const [locks] = await dataSource.query(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`,
    );
    expect(locks.n).toBe(0);
  });
});
