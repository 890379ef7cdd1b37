import { toSafeInt } from '@paygate/database';
import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';

/** A share of one customer's window for one feature (see TakeRateWindowRequest). */
export interface WindowTake {
  customerId: string;
  feature: string;
  windowStart: Date;
  windowEnd: Date;
  /** The most units the window hands out, in all (a safe integer ≥ 1). */
  limit: number;
  /** Units wanted (1..limit). */
  units: number;
}

/** Units handed out to this caller (0 when the window is full), and in the window in all. */
export interface WindowTaken {
  granted: number;
  used: number;
}

/**
 * The SQL of shared rate-limit windows, on rate_windows (see the RateWindows
 * migration): a row per (customer, feature, window start) counts every unit handed out of it,
 * by every caller, and never more than the limit they send.
 */
export const rateWindows = {
  /**
   * Takes up to `units` of the window, as far as `limit` goes: exact under concurrency when
   * `manager` is in a transaction at READ COMMITTED (the default). The first take of a window
   * inserts its row with its share; any later one waits for the row's lock, so takes of one
   * window happen one after the other, each reading what the one before it left.
   */
  async take(manager: EntityManager, take: WindowTake): Promise<WindowTaken> {
    const key = [take.customerId, take.feature, take.windowStart];
    const limit = String(take.limit);
    const units = String(take.units);
    // A concurrent first take waits here for the other's row, then inserts nothing.
    const inserted: { used: string }[] = await manager.query(
      `INSERT INTO ${tables.rate_windows}
         ("customer_id", "feature_key", "window_start", "window_end", "used")
       VALUES ($1, $2, $3, $4, LEAST($5::bigint, $6::bigint))
       ON CONFLICT DO NOTHING RETURNING "used"::text AS "used"`,
      [...key, take.windowEnd, units, limit],
    );
    if (inserted.length === 1) {
      const used = toSafeInt(inserted[0].used);
      return { granted: used, used };
    }
    // A new statement, so a new snapshot: it sees the row a concurrent first take committed.
    // The lock holds off other takes of the window until this transaction ends.
    const [row]: { used: string }[] = await manager.query(
      `SELECT "used"::text AS "used" FROM ${tables.rate_windows}
       WHERE "customer_id" = $1 AND "feature_key" = $2 AND "window_start" = $3 FOR UPDATE`,
      key,
    );
    if (!row) {
      // Pruned between the two statements: only a window that ended, which hands out nothing.
      return { granted: 0, used: 0 };
    }
    const before = toSafeInt(row.used);
    // Callers may send a smaller limit than others did (the plan changed): nothing over it.
    const granted = Math.max(0, Math.min(take.units, take.limit - before));
    if (granted === 0) return { granted: 0, used: before };
    // Wrapped in a CTE because TypeORM returns [rows, count] for a bare UPDATE ... RETURNING.
    const [updated]: { used: string }[] = await manager.query(
      `WITH taken AS (
         UPDATE ${tables.rate_windows} SET "used" = "used" + $4::bigint
         WHERE "customer_id" = $1 AND "feature_key" = $2 AND "window_start" = $3
         RETURNING "used"
       ) SELECT "used"::text AS "used" FROM taken`,
      [...key, String(granted)],
    );
    return { granted, used: toSafeInt(updated.used) };
  },

  /**
   * Deletes up to `limit` windows that ended before `endedBefore`, oldest first; how many.
   * Rows a take holds are skipped (left for the next batch) rather than waited for.
   */
  async prune(manager: EntityManager, endedBefore: Date, limit: number): Promise<number> {
    const [{ deleted }]: { deleted: string }[] = await manager.query(
      `WITH gone AS (
         DELETE FROM ${tables.rate_windows}
         WHERE ("customer_id", "feature_key", "window_start") IN (
           SELECT "customer_id", "feature_key", "window_start" FROM ${tables.rate_windows}
           WHERE "window_end" < $1 ORDER BY "window_end" LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING 1
       ) SELECT count(*)::text AS "deleted" FROM gone`,
      [endedBefore, limit],
    );
    return toSafeInt(deleted);
  },
};
