import { isUUID } from 'class-validator';
import { DOMAIN_KEY, type HoldConcurrencyRequest } from '@paygate/contracts';
import { FieldErrors } from '../direct-payments/field-errors';

export const CONCURRENCY_HOLD_LIMITS = {
  /** A plan's concurrency limit, as PlanFeatureDto bounds it. */
  limit: { min: 1, max: 1_000_000 },
  /** How long a hold lasts unless set again: a second to an hour. */
  holdSeconds: { min: 1, max: 3600 },
} as const;

/** A gateway replica's id: printable ASCII, no spaces, so logs and keys carry it as is. */
const HOLDER = /^[\x21-\x7e]{1,128}$/;

const isIntegerIn = (value: unknown, min: number, max: number): value is number =>
  Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;

/** A HoldConcurrency request, checked: what the hold needs but the times. */
export interface HoldInput {
  customerId: string;
  feature: string;
  holder: string;
  limit: number;
  slots: number;
  holdSeconds: number;
}

/**
 * Checks a HoldConcurrency request (proto3 sends a missing field as '' or 0, refused here
 * wherever 0 is no valid value; `slots` 0 is a give-back).
 * @throws DomainError `validation-failed` naming every bad field.
 */
export function parseHoldConcurrency(input: HoldConcurrencyRequest): HoldInput {
  const errors = new FieldErrors();
  const fail = errors.fail;
  const { limit, holdSeconds } = CONCURRENCY_HOLD_LIMITS;

  if (typeof input.customerId !== 'string' || !isUUID(input.customerId))
    fail('customerId', 'must be a UUID');
  if (typeof input.feature !== 'string' || !DOMAIN_KEY.test(input.feature))
    fail('feature', 'must be a feature key');
  if (typeof input.holder !== 'string' || !HOLDER.test(input.holder))
    fail('holder', 'must be 1 to 128 printable ASCII characters, no spaces');
  const limitOk = isIntegerIn(input.limit, limit.min, limit.max);
  if (!limitOk) fail('limit', `must be an integer from ${limit.min} to ${limit.max}`);
  if (!isIntegerIn(input.slots, 0, limitOk ? input.limit : limit.max))
    fail('slots', 'must be an integer from 0 to limit');
  if (!isIntegerIn(input.holdSeconds, holdSeconds.min, holdSeconds.max))
    fail('holdSeconds', `must be an integer from ${holdSeconds.min} to ${holdSeconds.max}`);
  errors.throwIfAny('concurrency hold');

  return {
    customerId: input.customerId,
    feature: input.feature,
    holder: input.holder,
    limit: input.limit,
    slots: input.slots,
    holdSeconds: input.holdSeconds,
  };
}
