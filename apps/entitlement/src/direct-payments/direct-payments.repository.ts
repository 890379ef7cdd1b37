import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import type { RecordPayment } from './record-payment.input';

/**
 * Stands in for the grant's id between a payment's insert and its grant, in one transaction;
 * the deferred foreign key on "grant_id" refuses to commit a row that still holds it.
 */
export const PENDING_GRANT_ID = '00000000-0000-0000-0000-000000000000';

export interface DirectPaymentRow {
  payment_id: string;
  customer_id: string;
  network: string;
  asset: string;
  /** Exact (numeric(78,0) read as text). */
  amount: string;
  payer: string;
  transaction: string;
  credits: string;
  /** Null while a journaled charge is being settled (or after its settlement failed). */
  grant_id: string | null;
  request_id: string | null;
  created_at: Date;
  /**
   * 'charge': settled for its full amount, journaled first ('settling' until its settlement is
   * reported, see RecordPaymentUseCase); 'upto': an authorization, settled when its hold ended.
   */
  intent: 'charge' | 'upto';
  status: 'authorized' | 'settling' | 'settled' | 'failed';
  /** What settles it: an authorization's terms, or a journaled charge's; amounts exact, as text. */
  hold_until: Date | null;
  protocol: string | null;
  credential: string | null;
  requirement: string | null;
  amount_per_unit: string | null;
  amount_per_call: string | null;
  /** Set once its hold ended (see PaymentSettlementsUseCase); a charge's when journaled. */
  credits_used: string | null;
  settle_amount: string | null;
  claimed_until: Date | null;
  settled_at: Date | null;
  failure: string | null;
}

/** The SQL of direct_payments (see the DirectPayments migration). */
export const directPayments = {
  async customerExists(manager: EntityManager, customerId: string): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `SELECT 1 FROM ${tables.customers} WHERE "id" = $1`,
      [customerId],
    );
    return rows.length === 1;
  },

  /**
   * Claims the payment id: true when this transaction inserted the row. When another
   * transaction holds an uncommitted row with the id, this waits for it to end: false once it
   * committed (the row is then visible to the caller's next statement), true if it rolled back.
   * A payment with an authorization is recorded as an open `upto` authorization; a journaled
   * one as a charge being settled by its caller until `now` + its claim, without a grant.
   */
  async claim(manager: EntityManager, payment: RecordPayment, now: Date): Promise<boolean> {
    const upto = payment.authorization;
    const journal = payment.settling;
    const terms = upto ?? journal;
    const rows: unknown[] = await manager.query(
      `INSERT INTO ${tables.direct_payments} ("payment_id", "customer_id", "network", "asset",
         "amount", "payer", "transaction", "credits", "grant_id", "request_id", "intent", "status",
         "hold_until", "protocol", "credential", "requirement", "amount_per_unit", "amount_per_call",
         "credits_used", "settle_amount", "claimed_until")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
         $20, $21)
       ON CONFLICT ("payment_id") DO NOTHING RETURNING "payment_id"`,
      [
        payment.paymentId,
        payment.customerId,
        payment.network,
        payment.asset,
        payment.amount,
        payment.payer,
        payment.transaction,
        payment.credits,
        journal ? null : PENDING_GRANT_ID,
        payment.requestId,
        upto ? 'upto' : 'charge',
        upto ? 'authorized' : journal ? 'settling' : 'settled',
        upto?.holdUntil ?? null,
        terms?.protocol ?? null,
        terms?.credential ?? null,
        terms?.requirement ?? null,
        upto?.amountPerUnit ?? null,
        upto?.amountPerCall ?? null,
        // A charge settles for all it paid, for all its credits.
        journal ? payment.credits : null,
        journal ? payment.amount : null,
        journal ? new Date(now.getTime() + journal.claimSeconds * 1000) : null,
      ],
    );
    return rows.length === 1;
  },

  /**
   * Hands a journaled charge to a new caller until `claimedUntil`: one whose claim lapsed (its
   * gateway died or gave up) or whose settlement failed. False if it is not one (settled, or
   * claimed by another caller still).
   */
  async takeOver(
    manager: EntityManager,
    paymentId: string,
    now: Date,
    claimedUntil: Date,
  ): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `WITH taken AS (
         UPDATE ${tables.direct_payments}
         SET "status" = 'settling', "claimed_until" = $3, "failure" = NULL
         WHERE "payment_id" = $1 AND "intent" = 'charge'
           AND ("status" = 'failed' OR ("status" = 'settling' AND "claimed_until" <= $2))
         RETURNING "payment_id"
       ) SELECT * FROM taken`,
      [paymentId, now, claimedUntil],
    );
    return rows.length === 1;
  },

  /**
   * A journaled charge whose settlement was reported: settled with its reference, also after a
   * failure was recorded for it (a settlement is proof; the failure was a repeat refused). Null
   * when it is not a charge that was waiting for it.
   */
  async settleCharge(
    manager: EntityManager,
    paymentId: string,
    transaction: string,
    now: Date,
  ): Promise<DirectPaymentRow | null> {
    const [row]: DirectPaymentRow[] = await manager.query(
      `WITH done AS (
         UPDATE ${tables.direct_payments}
         SET "status" = 'settled', "transaction" = $2, "settled_at" = $3, "claimed_until" = NULL,
             "failure" = NULL, "grant_id" = $4
         WHERE "payment_id" = $1 AND "intent" = 'charge' AND "status" IN ('settling', 'failed')
         RETURNING *
       ) SELECT * FROM done`,
      [paymentId, transaction, now, PENDING_GRANT_ID],
    );
    return row ?? null;
  },

  async attachGrant(manager: EntityManager, paymentId: string, grantId: string): Promise<void> {
    await manager.query(
      `UPDATE ${tables.direct_payments} SET "grant_id" = $2 WHERE "payment_id" = $1`,
      [paymentId, grantId],
    );
  },

  async find(manager: EntityManager, paymentId: string): Promise<DirectPaymentRow | null> {
    const [row]: DirectPaymentRow[] = await manager.query(
      `SELECT * FROM ${tables.direct_payments} WHERE "payment_id" = $1`,
      [paymentId],
    );
    return row ?? null;
  },
};
