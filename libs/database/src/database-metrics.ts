import { gauge, within } from '@paygate/observability';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/** The service's DataSources (one in a service; tests open several), and their outbox schema. */
const watched = new Map<DataSource, string | undefined>();

/** How long a scrape waits for the outbox's age: a scrape answers, whatever Postgres does. */
const OUTBOX_AGE_TIMEOUT_MS = 1000;

const poolOf = (dataSource: DataSource): Pool | undefined =>
  (dataSource.driver as unknown as { master?: Pool }).master;

const live = (): DataSource[] => {
  for (const dataSource of watched.keys())
    if (!dataSource.isInitialized) watched.delete(dataSource);
  return [...watched.keys()];
};

gauge(
  'paygate_db_pool_connections',
  "The service's Postgres connections by state: in_use (held by a query or transaction), idle, " +
    'and waiting (callers queued for one: the pool is exhausted, requests wait on it)',
  ['state'],
  function () {
    const counts = { in_use: 0, idle: 0, waiting: 0 };
    for (const dataSource of live()) {
      const pool = poolOf(dataSource);
      if (!pool) continue;
      counts.in_use += pool.totalCount - pool.idleCount;
      counts.idle += pool.idleCount;
      counts.waiting += pool.waitingCount;
    }
    for (const [state, value] of Object.entries(counts)) this.set({ state }, value);
  },
);

gauge(
  'paygate_outbox_oldest_age_seconds',
  'Age of the oldest outbox message that is not published and not parked (0: none); /ready ' +
    'fails once it passes CONSUMER_STALL_SECONDS. No value while Postgres does not answer in ' +
    'a second, or while callers wait for a connection',
  ['schema'],
  async function () {
    await Promise.all(
      live().map(async (dataSource) => {
        const schema = watched.get(dataSource);
        if (!schema) return;
        // A query a scrape gave up on still waits for its connection: while callers queue for
        // one, a scrape asks nothing, so scrapes never add to what the pool owes.
        if ((poolOf(dataSource)?.waitingCount ?? 0) > 0) {
          this.remove({ schema });
          return;
        }
        try {
          this.set(
            { schema },
            await within(
              OUTBOX_AGE_TIMEOUT_MS,
              oldestUnpublishedAge(dataSource, schema),
              () => new Error('late'),
            ),
          );
        } catch {
          // No number is better than a stale one; /ready and the log say why.
          this.remove({ schema });
        }
      }),
    );
  },
);

/**
 * Seconds since the oldest outbox message that is neither published nor parked was written, 0
 * with none: one primary-key scan from the oldest row.
 */
export async function oldestUnpublishedAge(
  dataSource: DataSource,
  schema: string,
): Promise<number> {
  const [oldest]: { age: number }[] = await dataSource.query(
    `SELECT extract(epoch FROM now() - "created_at")::float8 AS "age"
     FROM "${schema}"."outbox" WHERE "parked_at" IS NULL ORDER BY "id" LIMIT 1`,
  );
  return oldest ? Math.max(0, oldest.age) : 0;
}

/**
 * Reports the DataSource's pool (`paygate_db_pool_connections`) and, given its outbox schema,
 * the outbox's oldest unpublished message (`paygate_outbox_oldest_age_seconds`) at each
 * scrape, for as long as it is initialized.
 */
export function watchDatabase(dataSource: DataSource, outboxSchema?: string): void {
  watched.set(dataSource, outboxSchema);
}
