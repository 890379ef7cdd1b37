import type { EntityManager } from 'typeorm';
import type { DirectPaymentRow } from './direct-payments.repository';

/** What an authorization settles for: its credits used and the amount (smallest unit). */
export interface Owed {
  creditsUsed: bigint;
  amount: bigint;
}

/**
 * The SQL of `upto` authorizations' settlement, on "entitlement"."direct_payments" (see the
 * UptoAuthorizations migration): 'authorized' until the hold ended, then 'settling' while a
 * claimer settles it (until `claimed_until`), then 'settled' or 'failed'.
 */
export const paymentSettlements = {
  /**
   * Locks up to `limit` authorizations, oldest hold first, whose hold ended by `now` and that
   * nobody is settling (never claimed, or the claim lapsed). Rows another transaction locked
   * are skipped, so concurrent claimers each get different ones.
   */
  async lockDue(manager: EntityManager, now: Date, limit: number): Promise<DirectPaymentRow[]> {
    return manager.query(
      `SELECT * FROM "entitlement"."direct_payments"
       WHERE "status" IN ('authorized', 'settling') AND "hold_until" <= $1
         AND ("claimed_until" IS NULL OR "claimed_until" <= $1)
       ORDER BY "hold_until" LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
  },

  /** The authorization's grant: whether it expired, and how many of its credits did. */
  async grant(
    manager: EntityManager,
    grantId: string,
  ): Promise<{ status: 'pending' | 'active' | 'expired'; expired: bigint }> {
    const [grant]: { status: 'pending' | 'active' | 'expired'; expired: string }[] =
      await manager.query(
        `SELECT "status", "expired" FROM "entitlement"."grants" WHERE "id" = $1`,
        [grantId],
      );
    return { status: grant.status, expired: BigInt(grant.expired) };
  },

  /** Closes an authorization that owes nothing: there is nothing to settle. */
  async closeOwingNothing(
    manager: EntityManager,
    paymentId: string,
    creditsUsed: bigint,
    now: Date,
  ): Promise<void> {
    await manager.query(
      `UPDATE "entitlement"."direct_payments"
       SET "status" = 'settled', "credits_used" = $2, "settle_amount" = 0, "transaction" = '',
           "settled_at" = $3
       WHERE "payment_id" = $1`,
      [paymentId, creditsUsed.toString(), now],
    );
  },

  /** Hands an authorization to a claimer until `claimedUntil`, for what it owes. */
  async claim(
    manager: EntityManager,
    paymentId: string,
    owed: Owed,
    claimedUntil: Date,
  ): Promise<void> {
    await manager.query(
      `UPDATE "entitlement"."direct_payments"
       SET "status" = 'settling', "credits_used" = $2, "settle_amount" = $3, "claimed_until" = $4
       WHERE "payment_id" = $1`,
      [paymentId, owed.creditsUsed.toString(), owed.amount.toString(), claimedUntil],
    );
  },

  /** Settled: null unless the payment was being settled (then nothing changed). */
  async markSettled(
    manager: EntityManager,
    paymentId: string,
    transaction: string,
    now: Date,
  ): Promise<DirectPaymentRow | null> {
    return completeOne(manager, `"status" = 'settled', "transaction" = $2, "settled_at" = $3`, [
      paymentId,
      transaction,
      now,
    ]);
  },

  /** Refused for good: null unless the payment was being settled (then nothing changed). */
  async markFailed(
    manager: EntityManager,
    paymentId: string,
    failure: string,
  ): Promise<DirectPaymentRow | null> {
    return completeOne(manager, `"status" = 'failed', "failure" = $2`, [paymentId, failure]);
  },
};

/** Applies `set` to the payment ($1) only while it is being settled: completes it once. */
async function completeOne(
  manager: EntityManager,
  set: string,
  params: unknown[],
): Promise<DirectPaymentRow | null> {
  // Wrapped in a CTE because TypeORM returns [rows, count] for a bare UPDATE ... RETURNING.
  const [row]: DirectPaymentRow[] = await manager.query(
    `WITH done AS (
       UPDATE "entitlement"."direct_payments" SET ${set}
       WHERE "payment_id" = $1 AND "status" = 'settling' RETURNING *
     ) SELECT * FROM done`,
    params,
  );
  return row ?? null;
}
