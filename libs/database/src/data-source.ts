import { DataSource, EntitySchema, MigrationExecutor, MixedList } from 'typeorm';

export interface ServiceDataSourceOptions {
  url: string;
  /** Each service owns one schema and never reads another's tables. */
  schema: string;
  entities: MixedList<string | (new () => unknown) | EntitySchema>;
  migrations: MixedList<string | (new () => unknown)>;
  poolSize?: number;
  applicationName: string;
}

export function createServiceDataSource(options: ServiceDataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    // Schema changes go through committed migrations only.
    synchronize: false,
    extra: { max: options.poolSize ?? 10, application_name: options.applicationName },
  });
}

/**
 * How long one statement of a migration waits for a table lock before the migration fails.
 * A schema change on a live database (a rolling deploy: old instances still running) waits
 * for the transactions that hold the table, and while it waits, every statement that wants
 * the table queues behind it: a migration stuck behind a long transaction would stop the
 * service's writes. Failing after a few seconds (nothing applied, the run can be repeated)
 * bounds that stop instead.
 */
export const MIGRATION_LOCK_TIMEOUT_MS = 5_000;

/** Postgres' lock_not_available: lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = '55P03';

export interface MigrateOptions {
  /** MIGRATION_LOCK_TIMEOUT_MS unless given (a test gives a shorter one). */
  lockTimeoutMs?: number;
}

/**
 * Creates the service's schema and applies its pending migrations, each in its own
 * transaction. Runs of the same schema's migrations take turns (a session advisory lock:
 * two `setup.js` started at once would otherwise both apply the same migration, and one
 * would fail half-way), and each statement waits at most `lockTimeoutMs` for a table lock.
 */
export async function migrate(
  dataSource: DataSource,
  { lockTimeoutMs = MIGRATION_LOCK_TIMEOUT_MS }: MigrateOptions = {},
): Promise<string[]> {
  const schema = (dataSource.options as { schema?: string }).schema ?? 'public';
  const initialized = dataSource.isInitialized;
  if (!initialized) await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  const turn = `paygate-migrations:${schema}`;
  try {
    await runner.connect();
    // Before lock_timeout is set: waiting for another run of these migrations is not waiting
    // for a table, and may take as long as that run does.
    await runner.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [turn]);
    try {
      await runner.query(`SET lock_timeout = ${Math.max(1, Math.trunc(lockTimeoutMs))}`);
      await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      const applied = await executor.executePendingMigrations();
      return applied.map((m) => m.name);
    } catch (err) {
      if ((err as { code?: string }).code === LOCK_NOT_AVAILABLE) {
        throw new Error(
          `a migration of schema ${schema} waited ${lockTimeoutMs} ms for a table that another ` +
            `transaction holds (a long one, or a running instance's), and was rolled back: ` +
            `nothing of it was applied; run it again (${(err as Error).message})`,
        );
      }
      throw err;
    } finally {
      // The connection goes back to the pool: without its lock and setting (a broken one
      // is not reused, so a failure here changes nothing).
      await runner.query('RESET lock_timeout').catch(() => undefined);
      await runner
        .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [turn])
        .catch(() => undefined);
    }
  } finally {
    await runner.release();
    if (!initialized) await dataSource.destroy();
  }
}
