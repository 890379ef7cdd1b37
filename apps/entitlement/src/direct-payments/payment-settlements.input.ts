import type { CompleteSettlementRequest } from '@paygate/contracts';
import { FieldErrors } from './field-errors';
import { PAYMENT_LIMITS, isText } from './record-payment.input';

export const SETTLEMENT_LIMITS = {
  /** Authorizations handed out per ClaimSettlements. */
  claim: { min: 1, max: 100 },
  /** How long a claimer has to settle before they are handed out again. */
  claimSeconds: { min: 10, max: 3600 },
  /** What is kept of a facilitator's refusal. */
  failure: 500,
} as const;

/** A ClaimSettlements request (see ClaimSettlementsRequest). */
export interface ClaimSettlements {
  limit: number;
  claimSeconds: number;
}

/** The outcome of settling a claimed authorization (see CompleteSettlementRequest). */
export type CompleteSettlement = Omit<
  CompleteSettlementRequest,
  'transaction' | 'failure' | 'retry'
> & {
  transaction?: string;
  failure?: string;
  retry?: boolean;
};

const inRange = (value: unknown, range: { min: number; max: number }): value is number =>
  Number.isSafeInteger(value) && (value as number) >= range.min && (value as number) <= range.max;

/** @throws DomainError `validation-failed` naming the bad fields. */
export function parseClaimSettlements(input: ClaimSettlements): ClaimSettlements {
  const errors = new FieldErrors();
  const { claim, claimSeconds } = SETTLEMENT_LIMITS;
  if (!inRange(input.limit, claim))
    errors.fail('limit', `must be an integer from ${claim.min} to ${claim.max}`);
  if (!inRange(input.claimSeconds, claimSeconds))
    errors.fail(
      'claimSeconds',
      `must be an integer from ${claimSeconds.min} to ${claimSeconds.max}`,
    );
  errors.throwIfAny('settlement claim');
  return { limit: input.limit, claimSeconds: input.claimSeconds };
}

/**
 * Checks a settlement's outcome; a failure is cut to SETTLEMENT_LIMITS.failure characters
 * rather than refused, so that a long refusal from a facilitator still closes the payment.
 * @throws DomainError `validation-failed` naming the bad fields.
 */
export function parseCompleteSettlement(input: CompleteSettlement): Required<CompleteSettlement> {
  const errors = new FieldErrors();
  const { paymentId, transaction } = PAYMENT_LIMITS;
  if (!isText(input.paymentId, paymentId))
    errors.fail('paymentId', `must be 1 to ${paymentId} characters`);
  if (typeof input.settled !== 'boolean') errors.fail('settled', 'must be true or false');
  const reference = input.transaction ?? '';
  if (typeof reference !== 'string' || reference.length > transaction)
    errors.fail('transaction', `must be at most ${transaction} characters`);
  const failure = input.failure ?? '';
  if (typeof failure !== 'string') errors.fail('failure', 'must be text');
  const retry = input.retry ?? false;
  if (typeof retry !== 'boolean') errors.fail('retry', 'must be true or false');
  else if (retry && input.settled) errors.fail('retry', 'must be false when settled');
  errors.throwIfAny('settlement');
  return {
    paymentId: input.paymentId,
    settled: input.settled,
    transaction: reference,
    failure: failure.slice(0, SETTLEMENT_LIMITS.failure),
    retry,
  };
}
