import type { EntityManager } from 'typeorm';
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
  grant_id: string;
  request_id: string | null;
  created_at: Date;
  /** 'charge': settled when recorded; 'upto': an authorization, settled when its hold ended. */
  intent: 'charge' | 'upto';
  status: 'authorized' | 'settling' | 'settled' | 'failed';
  /** The authorization's terms (intent 'upto' only); amounts exact, as text. */
  hold_until: Date | null;
  protocol: string | null;
  credential: string | null;
  requirement: string | null;
  amount_per_unit: string | null;
  amount_per_call: string | null;
  /** Set once its hold ended (see PaymentSettlementsUseCase). */
  credits_used: string | null;
  settle_amount: string | null;
  claimed_until: Date | null;
  settled_at: Date | null;
  failure: string | null;
}

/** The SQL of "entitlement"."direct_payments" (see the DirectPayments migration). */
export const directPayments = {
  async customerExists(manager: EntityManager, customerId: string): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `SELECT 1 FROM "entitlement"."customers" WHERE "id" = $1`,
      [customerId],
    );
    return rows.length === 1;
  },

  /**
   * Claims the payment id: true when this transaction inserted the row. When another
   * transaction holds an uncommitted row with the id, this waits for it to end: false once it
   * committed (the row is then visible to the caller's next statement), true if it rolled back.
   * A payment with an authorization is recorded as an open `upto` authorization.
   */
  async claim(manager: EntityManager, payment: RecordPayment): Promise<boolean> {
    const upto = payment.authorization;
    const rows: unknown[] = await manager.query(
      `INSERT INTO "entitlement"."direct_payments" ("payment_id", "customer_id", "network", "asset",
         "amount", "payer", "transaction", "credits", "grant_id", "request_id", "intent", "status",
         "hold_until", "protocol", "credential", "requirement", "amount_per_unit", "amount_per_call")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
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
        PENDING_GRANT_ID,
        payment.requestId,
        upto ? 'upto' : 'charge',
        upto ? 'authorized' : 'settled',
        upto?.holdUntil ?? null,
        upto?.protocol ?? null,
        upto?.credential ?? null,
        upto?.requirement ?? null,
        upto?.amountPerUnit ?? null,
        upto?.amountPerCall ?? null,
      ],
    );
    return rows.length === 1;
  },

  async attachGrant(manager: EntityManager, paymentId: string, grantId: string): Promise<void> {
    await manager.query(
      `UPDATE "entitlement"."direct_payments" SET "grant_id" = $2 WHERE "payment_id" = $1`,
      [paymentId, grantId],
    );
  },

  async find(manager: EntityManager, paymentId: string): Promise<DirectPaymentRow | null> {
    const [row]: DirectPaymentRow[] = await manager.query(
      `SELECT * FROM "entitlement"."direct_payments" WHERE "payment_id" = $1`,
      [paymentId],
    );
    return row ?? null;
  },
};
