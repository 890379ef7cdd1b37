import { DOMAIN_KEY } from '@paygate/contracts';
import { isUUID } from 'class-validator';
import type {
  PaymentAuthorization,
  PaymentSettling,
  RecordPaymentRequest,
} from '@paygate/contracts';
import { MAX_BALANCE } from '../credits/ledger.service';
import { FieldErrors } from './field-errors';

/** A payment to turn into credits (settled, or an `upto` authorization), see RecordPaymentRequest. */
export type RecordPaymentInput = Omit<RecordPaymentRequest, 'requestId'> & { requestId?: string };

/** An `upto` payment's authorization once checked (see PaymentAuthorization). */
export interface Authorization {
  holdUntil: Date;
  protocol: 'x402' | 'payment-auth';
  credential: string;
  requirement: string;
  amountPerUnit: string;
  amountPerCall: string;
}

/** An `exact` payment journaled before its settlement, once checked (see PaymentSettling). */
export interface Settling {
  protocol: 'x402' | 'payment-auth';
  credential: string;
  requirement: string;
  claimSeconds: number;
}

/**
 * The input once checked: `requestId` is null when the gateway sent none; `authorization` and
 * `settling` are left out when absent (proto3 sends an absent message as null).
 */
export type RecordPayment = Omit<RecordPaymentInput, 'requestId' | 'authorization' | 'settling'> & {
  requestId: string | null;
  authorization?: Authorization;
  settling?: Settling;
};

/** CAIP-2 chain id: namespace ":" reference, as routes accept it (e.g. eip155:8453). */
export const CAIP2_NETWORK = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/;
/** The smallest unit of an asset: a decimal integer of at most 78 digits (numeric(78,0), uint256). */
export const PAYMENT_AMOUNT = /^(0|[1-9][0-9]{0,77})$/;

/** A plan key, as plans are created with. */
const PLAN_KEY = DOMAIN_KEY;

export const PAYMENT_LIMITS = {
  paymentId: 512,
  network: 64,
  asset: 256,
  payer: 256,
  transaction: 512,
  requestId: 128,
  credential: 16_384,
  requirement: 16_384,
} as const;

/** How far ahead an authorization's hold may end: what an `upto` offer holds at most. */
export const MAX_HOLD_MS = 24 * 60 * 60 * 1000;

/** How long a journaled settlement is the caller's (as ClaimSettlements' claims). */
export const SETTLING_CLAIM_SECONDS = { min: 10, max: 3600 } as const;

const AUTHORIZATION_PROTOCOLS: readonly string[] = ['x402', 'payment-auth'];

/** Text of 1 to `max` characters. */
export const isText = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= max;

const isAmount = (value: unknown): value is string =>
  typeof value === 'string' && PAYMENT_AMOUNT.test(value);

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

type Fail = FieldErrors['fail'];

/**
 * Checks a payment before anything is stored. Every bad field is named, in a
 * `validation-failed` DomainError (gRPC INVALID_ARGUMENT) with `errors: [{ field, messages }]`.
 * An authorization's hold is checked against the time by checkHold, for a new payment only.
 */
export function parseRecordPayment(input: RecordPaymentInput): RecordPayment {
  const errors = new FieldErrors();
  const fail = errors.fail;

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
  if (!isText(input.network, PAYMENT_LIMITS.network) || !CAIP2_NETWORK.test(input.network))
    fail('network', 'must be a CAIP-2 chain id like eip155:8453');
  if (!isText(input.asset, PAYMENT_LIMITS.asset))
    fail('asset', `must be 1 to ${PAYMENT_LIMITS.asset} characters`);
  if (!isAmount(input.amount))
    fail('amount', 'must be a non-negative decimal integer of at most 78 digits');
  if (!isText(input.payer, PAYMENT_LIMITS.payer))
    fail('payer', `must be 1 to ${PAYMENT_LIMITS.payer} characters`);
  // An authorization is not settled yet: the settlement's reference comes with CompleteSettlement.
  const authorization = input.authorization
    ? parseAuthorization(input.authorization, fail)
    : undefined;
  // Nor is a journaled payment: its reference comes when its settlement is reported.
  const settling = input.settling ? parseSettling(input.settling, fail) : undefined;
  if (authorization && settling) fail('settling', 'must be absent with authorization');
  if (authorization || settling) {
    if (input.transaction)
      fail('transaction', `must be empty with ${authorization ? 'authorization' : 'settling'}`);
  } else if (!isText(input.transaction, PAYMENT_LIMITS.transaction))
    fail('transaction', `must be 1 to ${PAYMENT_LIMITS.transaction} characters`);
  const requestId = input.requestId ?? '';
  if (typeof requestId !== 'string' || requestId.length > PAYMENT_LIMITS.requestId)
    fail('requestId', `must be at most ${PAYMENT_LIMITS.requestId} characters`);

  errors.throwIfAny('payment');
  return {
    customerId: input.customerId,
    paymentId: input.paymentId,
    credits: input.credits,
    network: input.network,
    asset: input.asset,
    amount: input.amount,
    payer: input.payer,
    transaction: input.transaction ?? '',
    requestId: requestId || null,
    payerPlan: payerPlan || undefined,
    authorization,
    settling,
  };
}

/**
 * A new authorization's hold ends in the future, at most MAX_HOLD_MS ahead. Not checked by
 * parseRecordPayment: a replay of a recorded payment (answered `replayed`) may come after it.
 * @throws DomainError `validation-failed` naming authorization.holdUntilMs.
 */
export function checkHold(authorization: Authorization, now: Date): void {
  const holdUntil = authorization.holdUntil.getTime();
  const errors = new FieldErrors();
  if (holdUntil <= now.getTime() || holdUntil > now.getTime() + MAX_HOLD_MS)
    errors.fail(HOLD_UNTIL, `must be in the future, at most ${MAX_HOLD_MS / 3_600_000} h ahead`);
  errors.throwIfAny('payment');
}

const HOLD_UNTIL = 'authorization.holdUntilMs';

/** What settles a payment later: protocol, credential, requirement (named `<prefix>.<field>`). */
function checkTerms(
  input: { protocol: unknown; credential: unknown; requirement: unknown },
  prefix: string,
  fail: Fail,
): void {
  if (!AUTHORIZATION_PROTOCOLS.includes(input.protocol as string))
    fail(`${prefix}.protocol`, `must be one of ${AUTHORIZATION_PROTOCOLS.join(', ')}`);
  if (!isText(input.credential, PAYMENT_LIMITS.credential))
    fail(`${prefix}.credential`, `must be 1 to ${PAYMENT_LIMITS.credential} characters`);
  if (!isText(input.requirement, PAYMENT_LIMITS.requirement) || !isJson(input.requirement))
    fail(`${prefix}.requirement`, `must be JSON of 1 to ${PAYMENT_LIMITS.requirement} characters`);
}

/** The journal's fields, named `settling.<field>` when bad. */
function parseSettling(input: PaymentSettling, fail: Fail): Settling {
  checkTerms(input, 'settling', fail);
  const { min, max } = SETTLING_CLAIM_SECONDS;
  const claimSeconds = input.claimSeconds;
  if (!Number.isSafeInteger(claimSeconds) || claimSeconds < min || claimSeconds > max)
    fail('settling.claimSeconds', `must be an integer from ${min} to ${max}`);
  return {
    protocol: input.protocol as Settling['protocol'],
    credential: input.credential,
    requirement: input.requirement,
    claimSeconds,
  };
}

/** The authorization's fields, named `authorization.<field>` when bad. */
function parseAuthorization(input: PaymentAuthorization, fail: Fail): Authorization {
  const field = (name: keyof PaymentAuthorization) => `authorization.${name}`;
  const holdUntilMs = input.holdUntilMs;
  if (!Number.isSafeInteger(holdUntilMs) || holdUntilMs <= 0)
    fail(HOLD_UNTIL, 'must be a time in ms since the Unix epoch');
  checkTerms(input, 'authorization', fail);
  for (const name of ['amountPerUnit', 'amountPerCall'] as const) {
    if (!isAmount(input[name]))
      fail(field(name), 'must be a non-negative decimal integer of at most 78 digits');
  }
  return {
    holdUntil: new Date(holdUntilMs),
    protocol: input.protocol as Authorization['protocol'],
    credential: input.credential,
    requirement: input.requirement,
    amountPerUnit: input.amountPerUnit,
    amountPerCall: input.amountPerCall,
  };
}
