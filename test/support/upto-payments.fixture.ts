import type { PaymentAuthorization } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import type { EntitlementFixture } from './entitlement.fixture';
import { domainRefusal } from './refusal';
import type { RecordPaymentInput } from '../../apps/entitlement/src/direct-payments/record-payment.input';

export const MINUTE = 60_000;

/** An `upto` payment of `credits` for the customer, held for `holdMs` from the fixture's now. */
export function uptoPayment(
  fx: EntitlementFixture,
  customerId: string,
  options: { credits?: number; amount?: string; holdMs?: number } & Partial<
    Omit<PaymentAuthorization, 'holdUntilMs'>
  > = {},
): RecordPaymentInput & { authorization: PaymentAuthorization } {
  const nonce = randomUUID();
  const { credits = 10, amount = '100000', holdMs = MINUTE, ...terms } = options;
  return {
    customerId,
    paymentId: `paygate:test:0xpayer:${nonce}`,
    credits,
    network: 'paygate:test',
    asset: 'USD',
    amount,
    payer: '0xpayer',
    transaction: '',
    requestId: `req-${nonce}`,
    authorization: {
      holdUntilMs: fx.clock.now().getTime() + holdMs,
      protocol: 'x402',
      credential: `credential-${nonce}`,
      requirement: JSON.stringify({ scheme: 'upto', maxAmountRequired: amount }),
      amountPerUnit: '1000',
      amountPerCall: '500',
      ...terms,
    },
  };
}

/** The payment's row, every column as text (exact amounts), or undefined. */
export async function paymentRow(
  fx: EntitlementFixture,
  paymentId: string,
): Promise<Record<string, string | null> | undefined> {
  const [row]: Record<string, string | null>[] = await fx.dataSource.query(
    `SELECT "customer_id", "intent", "status", "transaction", "credits"::text, "amount"::text,
            "grant_id"::text, "hold_until"::text, "protocol", "credential", "requirement",
            "amount_per_unit"::text, "amount_per_call"::text, "credits_used"::text,
            "settle_amount"::text, "claimed_until"::text, "settled_at"::text, "failure"
     FROM "entitlement"."direct_payments" WHERE "payment_id" = $1`,
    [paymentId],
  );
  return row;
}

/** A timestamp as paymentRow reads it (Postgres text in the session's time zone). */
export async function pgTime(fx: EntitlementFixture, at: Date | number): Promise<string> {
  const [{ t }]: { t: string }[] = await fx.dataSource.query(`SELECT $1::timestamptz::text AS t`, [
    new Date(at),
  ]);
  return t;
}

/** A grant's stored state, with how many of its credits expired. */
export async function grantRow(
  fx: EntitlementFixture,
  grantId: string,
): Promise<{ source: string; status: string; remaining: number; expired: number }> {
  const [row]: { source: string; status: string; remaining: string; expired: string }[] =
    await fx.dataSource.query(
      `SELECT "source", "status", "remaining", "expired" FROM "entitlement"."grants" WHERE "id" = $1`,
      [grantId],
    );
  return { ...row, remaining: Number(row.remaining), expired: Number(row.expired) };
}

/** Spends `credits` through a decision: a lease that takes them from the grants. */
export async function spend(
  fx: EntitlementFixture,
  apiKey: string,
  credits: number,
): Promise<string> {
  const decision = await fx.check.execute(fx.checkInput(apiKey, credits));
  if (!decision.allowed)
    throw new Error(`spending ${credits} was refused: ${decision.denial.code}`);
  return decision.leaseId!;
}

/** Gives all a lease holds back, as a gateway whose request was not served. */
export function giveBack(fx: EntitlementFixture, leaseId: string): Promise<boolean> {
  return fx.dataSource.transaction((manager) =>
    fx.settlement.release(manager, leaseId, 'not served'),
  );
}

/** The fields a validation-failed refusal names. */
export async function refusedFields(promise: Promise<unknown>): Promise<string[]> {
  const err = await domainRefusal(promise);
  expect(err.code).toBe('validation-failed');
  return (err.details.errors as { field: string }[]).map((e) => e.field);
}
