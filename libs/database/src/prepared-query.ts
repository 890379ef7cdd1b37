import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { type EntityManager, QueryFailedError } from 'typeorm';

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
 * Runs `text` as a named prepared statement on the manager's connection (its transaction's,
 * or one from the pool) and returns its rows. `manager.query` sends every statement unnamed,
 * so Postgres parses and plans it again on every call: for the statements of a decision that
 * was two thirds of their time in Postgres (parse and bind against execute, in its statement
 * log). A named one is parsed once per connection, and after five executions Postgres may
 * keep a generic plan. For the hot statements only: the SQL must be a constant (values go in
 * `values`), and its result columns must not change while the service runs (a `SELECT *`
 * over a table a migration alters would fail with "cached plan must not change result type"
 * until the connection is replaced; migrations run before a service starts serving).
 * Errors come as TypeORM's QueryFailedError, as from `manager.query`.
 */
export async function preparedQuery<T extends QueryResultRow>(
  manager: EntityManager,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const config = { name: nameOf(text), text, values };
  try {
    const runner = manager.queryRunner;
    if (runner) {
      // A transaction's runner is connected already; connect() hands back its client.
      const client = (await runner.connect()) as PoolClient;
      return (await client.query<T>(config)).rows;
    }
    const pool = (manager.connection.driver as unknown as { master: Pool }).master;
    return (await pool.query<T>(config)).rows;
  } catch (err) {
    if (err instanceof Error && !(err instanceof QueryFailedError))
      throw new QueryFailedError(text, values, err);
    throw err;
  }
}
