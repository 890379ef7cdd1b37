import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { type EntityManager, QueryFailedError, QueryRunnerAlreadyReleasedError } from 'typeorm';

/** Statement names by SQL text: one SHA-1 per distinct statement, not per call. */
const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    // Derived from the text, so one name never stands for two statements (node-postgres
    // refuses that) and every connection prepares a statement under the same name.
    name = `paygate_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * Errors after which a connection's prepared statement cannot serve again: a migration changed
 * the type of a column it returns ("cached plan must not change result type", 0A000), or the
 * server no longer has it (26000). Only a new connection prepares it afresh.
 */
const STALE_STATEMENT = new Set(['0A000', '26000']);

const isStale = (err: unknown) =>
  STALE_STATEMENT.has(String((err as { code?: unknown } | null)?.code ?? ''));

/**
 * Runs `text` as a named prepared statement on the manager's connection (its transaction's,
 * or one from the pool) and returns its rows. `manager.query` sends every statement unnamed,
 * so Postgres parses and plans it again on every call: for the statements of a decision that
 * was two thirds of their time in Postgres (parse and bind against execute, in its statement
 * log). A named one is parsed once per connection, and after five executions Postgres may
 * keep a generic plan. For the hot statements only: the SQL must be a constant (values go in
 * `values`), since every distinct text stays prepared on every connection.
 *
 * A migration run while instances serve (a rolling deploy) may change the type of a column
 * such a statement returns; the connection's statement then fails, and that connection is
 * dropped (its transaction's statements fail with it) so that the next use of the pool
 * prepares the statement again on a new one. Errors come as TypeORM's QueryFailedError, as
 * from `manager.query`.
 */
export async function preparedQuery<T extends QueryResultRow>(
  manager: EntityManager,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const config = { name: nameOf(text), text, values };
  const runner = manager.queryRunner;
  // As manager.query would: a transaction's manager is not used after its transaction.
  if (runner?.isReleased) throw new QueryRunnerAlreadyReleasedError();
  let client: PoolClient | undefined;
  let ownClient = false;
  try {
    if (runner) {
      // A transaction's runner is connected already; connect() hands back its client.
      client = (await runner.connect()) as PoolClient;
    } else {
      const pool = (manager.connection.driver as unknown as { master: Pool }).master;
      client = await pool.connect();
      ownClient = true;
    }
    const rows = (await client.query<T>(config)).rows;
    if (ownClient) client.release();
    return rows;
  } catch (err) {
    if (client && isStale(err)) {
      // The transaction fails with this statement either way; ending the connection makes the
      // pool replace it when TypeORM releases it after its rollback.
      if (ownClient) client.release(err as Error);
      else void client.end().catch(() => undefined);
    } else if (ownClient && client) {
      // A statement's error leaves the connection usable (pool.query would drop it for any
      // error); a broken connection is dropped by the pool on release anyway.
      client.release();
    }
    if (err instanceof Error && !(err instanceof QueryFailedError))
      throw new QueryFailedError(text, values, err);
    throw err;
  }
}
