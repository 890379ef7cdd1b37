import { isUUID } from 'class-validator';
import type { RecordPaymentRequest } from '@paygate/contracts';
import { DomainError } from '@paygate/problem-details';
import { MAX_BALANCE } from '../credits/ledger.service';

/** A settled payment to turn into credits, as the gateway reports it (see RecordPaymentRequest). */
export type RecordPaymentInput = Omit<RecordPaymentRequest, 'requestId'> & { requestId?: string };

/** The input once checked: `requestId` is null when the gateway sent none. */
export type RecordPayment = Omit<RecordPaymentInput, 'requestId'> & { requestId: string | null };

/** CAIP-2 chain id: namespace ":" reference, as routes accept it (e.g. eip155:8453). */
export const CAIP2_NETWORK = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/;
/** The smallest unit of an asset: a decimal integer of at most 78 digits (numeric(78,0), uint256). */
export const PAYMENT_AMOUNT = /^(0|[1-9][0-9]{0,77})$/;

/** A plan key, as plans are created with (plan.dto.ts). */
const PLAN_KEY = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const PAYMENT_LIMITS = {
  paymentId: 512,
  network: 64,
  asset: 256,
  payer: 256,
  transaction: 512,
  requestId: 128,
} as const;

const isText = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= max;

/**
 * Checks a payment before anything is stored. Every bad field is named, in a
 * `validation-failed` DomainError (gRPC INVALID_ARGUMENT) with `errors: [{ field, messages }]`.
 */
export function parseRecordPayment(input: RecordPaymentInput): RecordPayment {
  const errors: { field: string; messages: string[] }[] = [];
  const fail = (field: string, message: string) => errors.push({ field, messages: [message] });

  const payerPlan = input.payerPlan ?? '';
  if (payerPlan) {
    // Anonymous pay-per-call: the payer's account is the customer (see PayerAccounts).
    if (typeof payerPlan !== 'string' || !PLAN_KEY.test(payerPlan))
      fail('payerPlan', 'must be a plan key');
    if (input.customerId) fail('customerId', 'must be empty with payerPlan');
  } else if (typeof input.customerId !== 'string' || !isUUID(input.customerId))
    fail('customerId', 'must be a UUID');
  if (!isText(input.paymentId, PAYMENT_LIMITS.paymentId))
    fail('paymentId', `must be 1 to ${PAYMENT_LIMITS.paymentId} characters`);
  if (!Number.isSafeInteger(input.credits) || input.credits < 1 || input.credits > MAX_BALANCE)
    fail('credits', `must be an integer from 1 to ${MAX_BALANCE}`);
  if (
    !isText(input.network, PAYMENT_LIMITS.network) ||
    !CAIP2_NETWORK.test(input.network as string)
  )
    fail('network', 'must be a CAIP-2 chain id like eip155:8453');
  if (!isText(input.asset, PAYMENT_LIMITS.asset))
    fail('asset', `must be 1 to ${PAYMENT_LIMITS.asset} characters`);
  if (typeof input.amount !== 'string' || !PAYMENT_AMOUNT.test(input.amount))
    fail('amount', 'must be a non-negative decimal integer of at most 78 digits');
  if (!isText(input.payer, PAYMENT_LIMITS.payer))
    fail('payer', `must be 1 to ${PAYMENT_LIMITS.payer} characters`);
  if (!isText(input.transaction, PAYMENT_LIMITS.transaction))
    fail('transaction', `must be 1 to ${PAYMENT_LIMITS.transaction} characters`);
  const requestId = input.requestId ?? '';
  if (typeof requestId !== 'string' || requestId.length > PAYMENT_LIMITS.requestId)
    fail('requestId', `must be at most ${PAYMENT_LIMITS.requestId} characters`);

  if (errors.length > 0) {
    throw new DomainError(
      'validation-failed',
      `Invalid payment: ${errors.map((e) => `${e.field} ${e.messages[0]}`).join('; ')}.`,
      { errors },
    );
  }
  return {
    customerId: input.customerId,
    paymentId: input.paymentId,
    credits: input.credits,
    network: input.network,
    asset: input.asset,
    amount: input.amount,
    payer: input.payer,
    transaction: input.transaction,
    requestId: requestId || null,
    payerPlan: payerPlan || undefined,
  };
}
