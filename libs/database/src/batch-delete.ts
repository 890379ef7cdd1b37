import type { EntityManager } from 'typeorm';

export interface BatchDelete {
  /** The table, quoted and schema-qualified as the caller's SQL names it. */
  table: string;
  /** Which rows may go: SQL over `params` ($1, $2, …). */
  where: string;
  /** Which go first (the oldest), when it matters which. */
  orderBy?: string;
  params: unknown[];
  limit: number;
}

/**
 * Deletes at most `limit` rows of a table that match `where`, the first by `orderBy`, in one
 * short statement; how many went. The rows are listed by ctid and deleted in the same
 * statement (one snapshot, so no listed ctid is reused meanwhile, and a row updated since is
 * rechecked), so a pruner deleting a large backlog a batch at a time (PeriodicTask.inBatches)
 * never holds its locks for long.
 */
export async function deleteBatch(
  runner: Pick<EntityManager, 'query'>,
  { table, where, orderBy, params, limit }: BatchDelete,
): Promise<number> {
  const order = orderBy ? ` ORDER BY ${orderBy}` : '';
  const [, count] = await runner.query<[unknown, number]>(
    `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM ${table} WHERE ${where}${order} LIMIT $${params.length + 1}))`,
    [...params, limit],
  );
  return count;
}
