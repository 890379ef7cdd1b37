import { toSafeInt } from '@paygate/database';
import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';

/** The slots one caller wants of a customer's concurrency limit for a feature (HoldConcurrency). */
export interface HoldRequest {
  customerId: string;
  feature: string;
  /** Who holds them: one gateway replica. */
  holder: string;
  /** The most slots every holder may hold together (≥ 1). */
  limit: number;
  /** Slots wanted from now on (0..limit); 0 gives them all back. */
  slots: number;
  now: Date;
  /** Until when the slots are held unless set again. */
  expiresAt: Date;
}

/** Slots the caller holds now, and slots held by every holder, the caller's included. */
export interface HoldResult {
  held: number;
  inUse: number;
}

/**
 * The SQL of shared concurrency limits, on concurrency_holds (see the ConcurrencyHolds
 * migration): a row per (customer, feature, holder) says how many slots that holder holds and
 * until when; unexpired rows of every holder never sum past the limit they send.
 */
export const concurrencyHolds = {
  /**
   * Sets the caller's hold to as many of `slots` as the other holders leave room for: exact
   * under concurrency when `manager` is in a transaction at READ COMMITTED (the default).
   */
  async hold(manager: EntityManager, request: HoldRequest): Promise<HoldResult> {
    const { customerId, feature, holder } = request;
    // Every hold of one (customer, feature) waits here for the one before it to commit. A row
    // lock cannot do it: a hold depends on the rows of all the other holders (their sum), and
    // the first hold of a holder has no row to lock yet. Taken, each statement after it reads
    // what the holds before it committed (READ COMMITTED takes a snapshot per statement). Two
    // pairs whose 64-bit hashes collide only wait for each other; one lock per transaction, so
    // no deadlock.
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [
      `concurrency-hold:${customerId}:${feature}`,
    ]);
    const [{ others }]: { others: string }[] = await manager.query(
      `SELECT COALESCE(SUM("slots"), 0)::text AS "others" FROM ${tables.concurrency_holds}
       WHERE "customer_id" = $1 AND "feature_key" = $2 AND "holder" <> $3 AND "expires_at" > $4`,
      [customerId, feature, holder, request.now],
    );
    const taken = toSafeInt(others);
    // Others may hold more than a smaller limit allows (the plan changed): nothing, never less.
    const held = Math.max(0, Math.min(request.slots, request.limit - taken));
    if (held === 0) {
      await manager.query(
        `DELETE FROM ${tables.concurrency_holds}
         WHERE "customer_id" = $1 AND "feature_key" = $2 AND "holder" = $3`,
        [customerId, feature, holder],
      );
    } else {
      await manager.query(
        `INSERT INTO ${tables.concurrency_holds}
           ("customer_id", "feature_key", "holder", "slots", "expires_at")
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT ("customer_id", "feature_key", "holder")
         DO UPDATE SET "slots" = EXCLUDED."slots", "expires_at" = EXCLUDED."expires_at"`,
        [customerId, feature, holder, held, request.expiresAt],
      );
    }
    return { held, inUse: taken + held };
  },

  /**
   * Deletes up to `limit` holds that expired before `expiredBefore`, oldest first; how many.
   * Rows a hold is setting are skipped (left for the next batch) rather than waited for.
   */
  async prune(manager: EntityManager, expiredBefore: Date, limit: number): Promise<number> {
    const [{ deleted }]: { deleted: string }[] = await manager.query(
      `WITH gone AS (
         DELETE FROM ${tables.concurrency_holds}
         WHERE ("customer_id", "feature_key", "holder") IN (
           SELECT "customer_id", "feature_key", "holder" FROM ${tables.concurrency_holds}
           WHERE "expires_at" < $1 ORDER BY "expires_at" LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING 1
       ) SELECT count(*)::text AS "deleted" FROM gone`,
      [expiredBefore, limit],
    );
    return toSafeInt(deleted);
  },
};
