import { Logger } from '@nestjs/common';
import { DataSource, EntitySchema, MigrationExecutor, MixedList, type QueryRunner } from 'typeorm';
import { deadlinePoolOptions } from './query-deadline';

export interface ServiceDataSourceOptions {
  url: string;
  /** Each service owns one schema and never reads another's tables. */
  schema: string;
  entities: MixedList<string | (new () => unknown) | EntitySchema>;
  migrations: MixedList<string | (new () => unknown)>;
  poolSize?: number;
  applicationName: string;
  /**
   * The services' DATABASE_QUERY_TIMEOUT_MS: every session's statement_timeout, and the
   * deadline after which a query without an answer ends its connection (DeadlineClient).
   * Unset (migrations, operator scripts): statements run as long as they take.
   */
  statementTimeoutMs?: number;
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
    extra: {
      max: options.poolSize ?? 10,
      application_name: options.applicationName,
      ...(options.statementTimeoutMs === undefined
        ? {}
        : deadlinePoolOptions(options.statementTimeoutMs)),
    },
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

/** How long a run waits for another run of the same schema's migrations before giving up. */
export const MIGRATION_TURN_TIMEOUT_MS = 10 * 60_000;
const TURN_POLL_MS = 250;
const TURN_LOG_MS = 10_000;

export interface MigrateOptions {
  /** MIGRATION_LOCK_TIMEOUT_MS unless given (a test gives a shorter one). */
  lockTimeoutMs?: number;
  /** MIGRATION_TURN_TIMEOUT_MS unless given. */
  turnTimeoutMs?: number;
  /** Told every 10 s while another run holds the turn (default: a warning in the log). */
  onWait?: (message: string) => void;
}

/**
 * Creates the service's schema and applies its pending migrations, each in its own
 * transaction. Runs of the same schema's migrations take turns (a session advisory lock:
 * two `setup.js` started at once would otherwise both apply the same migration, and one
 * would fail half-way), and each statement waits at most `lockTimeoutMs` for a table lock.
 * Both need one session from start to end: Postgres itself or a session-mode pool, never a
 * transaction-mode pooler.
 */
export async function migrate(
  dataSource: DataSource,
  {
    lockTimeoutMs = MIGRATION_LOCK_TIMEOUT_MS,
    turnTimeoutMs = MIGRATION_TURN_TIMEOUT_MS,
    onWait = (message) => new Logger('migrate').warn(message),
  }: MigrateOptions = {},
): Promise<string[]> {
  const schema = (dataSource.options as { schema?: string }).schema;
  const initialized = dataSource.isInitialized;
  if (!initialized) await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  const turn = `paygate-migrations:${schema ?? 'public'}`;
  try {
    await runner.connect();
    await takeTurn(runner, turn, turnTimeoutMs, onWait);
    try {
      await runner.query(`SET lock_timeout = ${Math.max(1, Math.trunc(lockTimeoutMs))}`);
      if (schema) await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      const applied = await executor.executePendingMigrations();
      return applied.map((m) => m.name);
    } catch (err) {
      if ((err as { code?: string }).code === LOCK_NOT_AVAILABLE) {
        throw new Error(
          `a migration of schema ${schema ?? 'public'} waited ${lockTimeoutMs} ms for a table ` +
            `that another transaction holds (a long one, or a running instance's), and was ` +
            `rolled back: nothing of it was applied; run it again`,
          { cause: err },
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

/**
 * Waits for this schema's migrations to be free (the session advisory lock `turn`), saying
 * every TURN_LOG_MS which backend holds them, and gives up after `timeoutMs`: a run that hangs
 * (or a session a pooler keeps open) must not keep every later setup waiting in silence. Tried
 * rather than waited for in Postgres, so that a lock_timeout of the role or database does not
 * turn waiting one's turn into a failure.
 */
async function takeTurn(
  runner: QueryRunner,
  turn: string,
  timeoutMs: number,
  onWait: (message: string) => void,
): Promise<void> {
  const started = Date.now();
  let toldAt = started;
  for (;;) {
    const [row] = await runner.query(
      'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS taken',
      [turn],
    );
    if (row.taken) return;
    const now = Date.now();
    const late = now - started >= timeoutMs;
    if (late || now - toldAt >= TURN_LOG_MS) {
      const holders: { pid: number }[] = await runner.query(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
           AND (classid::bigint << 32) | objid::bigint = hashtextextended($1, 0)`,
        [turn],
      );
      const by = holders.map((h) => h.pid).join(', ') || 'another session';
      if (late) {
        throw new Error(
          `another run of these migrations (${turn}, backend ${by}) held them for ` +
            `${timeoutMs} ms; nothing was applied`,
        );
      }
      onWait(`waiting for another run of these migrations (${turn}, backend ${by})`);
      toldAt = now;
    }
    await new Promise((resolve) => setTimeout(resolve, TURN_POLL_MS));
  }
}
