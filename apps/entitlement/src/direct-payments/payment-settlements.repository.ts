import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import type { DirectPaymentRow } from './direct-payments.repository';

/** What an authorization settles for: its credits used and the amount (smallest unit). */
export interface Owed {
  creditsUsed: bigint;
  amount: bigint;
}

/**
 * The SQL of settlements after the fact, on direct_payments: `upto`
 * authorizations (see the UptoAuthorizations migration) are 'authorized' until the hold ended,
 * then 'settling' while a claimer settles it (until `claimed_until`), then 'settled' or
 * 'failed'; journaled charges (SettlementJournal migration) are 'settling' from the start, and
 * handed out once their claim lapsed.
 */
export const paymentSettlements = {
  /**
   * Locks up to `limit` payments to settle, oldest first, that nobody is settling (never
   * claimed, or the claim lapsed): authorizations whose hold ended by `now`, and journaled
   * charges. Rows another transaction locked are skipped, so concurrent claimers each get
   * different ones.
   */
  async lockDue(manager: EntityManager, now: Date, limit: number): Promise<DirectPaymentRow[]> {
    return manager.query(
      `SELECT * FROM ${tables.direct_payments}
       WHERE ("status" IN ('authorized', 'settling') AND "hold_until" <= $1
              AND ("claimed_until" IS NULL OR "claimed_until" <= $1))
          OR ("intent" = 'charge' AND "status" = 'settling' AND "claimed_until" <= $1)
       ORDER BY COALESCE("hold_until", "claimed_until") LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
  },

  /** The authorization's grant: whether it expired, and how many of its credits did. */
  async grant(
    manager: EntityManager,
    grantId: string,
  ): Promise<{ status: 'pending' | 'active' | 'expired'; expired: bigint }> {
    const [grant]: { status: 'pending' | 'active' | 'expired'; expired: string }[] =
      await manager.query(`SELECT "status", "expired" FROM ${tables.grants} WHERE "id" = $1`, [
        grantId,
      ]);
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
      `UPDATE ${tables.direct_payments}
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
      `UPDATE ${tables.direct_payments}
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

  /**
   * Not settled and not refused (it may have gone through): the claim ends now, so it is handed
   * out again at once. False unless the payment was being settled.
   */
  async endClaim(manager: EntityManager, paymentId: string, now: Date): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `WITH ended AS (
         UPDATE ${tables.direct_payments} SET "claimed_until" = $2
         WHERE "payment_id" = $1 AND "status" = 'settling' RETURNING "payment_id"
       ) SELECT * FROM ended`,
      [paymentId, now],
    );
    return rows.length === 1;
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
       UPDATE ${tables.direct_payments} SET ${set}
       WHERE "payment_id" = $1 AND "status" = 'settling' RETURNING *
     ) SELECT * FROM done`,
    params,
  );
  return row ?? null;
}
