import { Client } from 'pg';
import type { DataSource } from 'typeorm';

/** The text of a statement as pg's Client.query got it (a string, or a config's `text`). */
export const statementText = (args: unknown[]) =>
  typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '');

/**
 * What `run` returns, with the text of every statement it sent: however it was sent
 * (TypeORM's manager or preparedQuery), each goes through a pg Client's query.
 */
export async function withStatements<T>(
  run: () => Promise<T>,
): Promise<{ result: T; texts: string[] }> {
  const statements = jest.spyOn(Client.prototype, 'query');
  try {
    const result = await run();
    return { result, texts: statements.mock.calls.map((call) => statementText(call)) };
  } finally {
    statements.mockRestore();
  }
}

/**
 * A transaction that holds the locks `sql` takes (another decision's, a refund's) until the
 * returned function commits it.
 */
export async function holdLocks(
  dataSource: DataSource,
  sql: string,
  values: unknown[],
): Promise<() => Promise<void>> {
  const holder = dataSource.createQueryRunner();
  await holder.connect();
  await holder.startTransaction();
  await holder.query(sql, values);
  return async () => {
    await holder.commitTransaction();
    await holder.release();
  };
}

/** Whether some backend of this database is waiting for a lock right now. */
export async function someoneWaits(dataSource: DataSource): Promise<boolean> {
  const [row]: { n: number }[] = await dataSource.query(
    `SELECT count(*)::int AS "n" FROM pg_stat_activity
     WHERE "datname" = current_database() AND "wait_event_type" = 'Lock'`,
  );
  return row.n > 0;
}

/** Resolves once a backend waits for a lock (the statement under test, behind a holder). */
export async function untilSomeoneWaits(dataSource: DataSource): Promise<void> {
  while (!(await someoneWaits(dataSource))) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** The ledger entries of a lease, as an admission writes them (its `reserve` entry). */
export function leaseEntries(dataSource: DataSource, leaseId: string) {
  return dataSource.query(
    `SELECT "type", "amount", "idempotency_key", "description" FROM "entitlement"."ledger_entries"
     WHERE "lease_id" = $1`,
    [leaseId],
  );
}

/** The `reserve` entry an admission of `credits` writes for a lease and its request. */
export const reserveEntry = (leaseId: string, credits: number, requestId: string) => ({
  type: 'reserve',
  amount: String(-credits),
  idempotency_key: `lease:${leaseId}:reserve`,
  description: `request ${requestId}`,
});

/** The credits of a lease's paid units refunded as included again (its re-inclusions), in order. */
export async function reinclusionsOf(dataSource: DataSource, leaseId: string): Promise<number[]> {
  const rows: { amount: string }[] = await dataSource.query(
    `SELECT "amount"::text AS "amount" FROM "entitlement"."ledger_entries"
     WHERE "lease_id" = $1 AND "type" = 'release' AND "idempotency_key" LIKE '%:reincluded:%'
     ORDER BY "id"`,
    [leaseId],
  );
  return rows.map((r) => Number(r.amount));
}

/** The credits a customer's active grants hold: they follow the balance. */
export async function grantedCredits(dataSource: DataSource, customerId: string): Promise<number> {
  const [row]: { remaining: string }[] = await dataSource.query(
    `SELECT COALESCE(SUM("remaining"), 0)::text AS "remaining" FROM "entitlement"."grants"
     WHERE "customer_id" = $1 AND "status" = 'active'`,
    [customerId],
  );
  return Number(row.remaining);
}
