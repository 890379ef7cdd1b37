import type { RecordPaymentRequest } from '@paygate/contracts';
import type { MalformedPayment, ParsedPayment } from '@paygate/payments';
import type { ProblemInput } from '@paygate/problem-details';

/**
 * Credits an amount buys in an asset: (amount − amountPerCall) / amountPerUnit, rounded down;
 * an asset priced at 0 per unit sells what the request lacks.
 */
export function creditsPaid(
  amount: string,
  asset: { amountPerUnit: string; amountPerCall?: string },
  shortfall: number,
): bigint {
  const perUnit = BigInt(asset.amountPerUnit);
  const rest = BigInt(amount) - BigInt(asset.amountPerCall ?? '0');
  if (rest < 0n) return 0n;
  return perUnit === 0n ? BigInt(Math.max(1, shortfall)) : rest / perUnit;
}

/**
 * Whether a settled amount buys whole credits with nothing left over: `amountPerCall + N ×
 * amountPerUnit` (just `amountPerCall` when credits cost nothing per unit). A charge settles
 * the whole amount the payer signed; what is over the last whole credit would be taken and
 * never show as credits, so such an amount is refused before anything settles. (An `upto`
 * authorization settles only what was used, so any amount may be authorized.)
 */
export function paysWholeCredits(
  amount: string,
  asset: { amountPerUnit: string; amountPerCall?: string },
): boolean {
  const perUnit = BigInt(asset.amountPerUnit);
  const rest = BigInt(amount) - BigInt(asset.amountPerCall ?? '0');
  return perUnit === 0n ? rest === 0n : rest % perUnit === 0n;
}

/**
 * Whom a payment credits: a customer the API key identified, or (anonymous pay-per-call) the
 * payer itself, whose account becomes a customer subscribed to `plan` on its first payment.
 */
export type Payer =
  | { customerId: string }
  | {
      plan: string;
      /**
       * Asked once the payment verified (the payer is proven) and before it is settled: a
       * problem refuses it then, so no payment is taken for a request that would be refused;
       * else the credits the call costs this payer (its own plan version prices it), which
       * its payment may not exceed.
       */
      beforeSettle?: (
        payment: ParsedPayment,
      ) => Promise<{ refusal: ProblemInput } | { callCredits: number }>;
    };

/** What became of a payment credential sent with a request. */
export type PaymentOutcome =
  /** No credential: the refusal stands (with offers). */
  | { kind: 'none' }
  /** A credential that was not accepted: answer with this problem (fresh offers included). */
  | { kind: 'refused'; problem: ProblemInput }
  /** Settled and credited once: ask again and serve; the receipt goes on the response. */
  | {
      kind: 'credited';
      credits: number;
      receipt: Record<string, string>;
      /** The customer credited (the payer's account for anonymous pay-per-call). */
      customerId: string;
      /** What busy() and idle() know this payer's payments by. */
      payerKey: string;
      /** A new `upto` authorization: when its hold ends (ms since the epoch). */
      holdUntil?: number;
    };

/** The most credits one payment buys: far inside the ledger's bound, checked before settling. */
export const MAX_CREDITS_PER_PAYMENT = 1_000_000_000;

/** Whether a payment recorded for `record` was made for this payer. */
export function samePayer(payer: Payer, record: RecordPaymentRequest): boolean {
  return 'customerId' in payer
    ? record.customerId === payer.customerId
    : record.customerId === '' && record.payerPlan === payer.plan;
}

/** A keyed customer's payments go by the customer; an anonymous payer's by its account. */
export function payerKeyOf(payer: Payer, payment: ParsedPayment | MalformedPayment): string {
  if ('customerId' in payer) return payer.customerId;
  return 'error' in payment ? 'anonymous' : `payer:${payment.network}:${payment.payer}`;
}
