import { isUUID } from 'class-validator';
import { DOMAIN_KEY, type TakeRateWindowRequest } from '@paygate/contracts';
import { FieldErrors } from '../direct-payments/field-errors';
import type { WindowTake } from './rate-windows.repository';

export const RATE_WINDOW_LIMITS = {
  /** A window's length: a second to a year (365 days). */
  windowSeconds: { min: 1, max: 31_536_000 },
} as const;

/** The last instant a JavaScript Date (and so a window's end) can name. */
const MAX_DATE_MS = 8_640_000_000_000_000;

const isSafeIntegerFrom = (value: unknown, min: number): value is number =>
  Number.isSafeInteger(value) && (value as number) >= min;

/**
 * Checks a TakeRateWindow request (proto3 sends a missing field as '' or 0, refused here).
 * @throws DomainError `validation-failed` naming every bad field.
 */
export function parseTakeRateWindow(input: TakeRateWindowRequest): WindowTake {
  const errors = new FieldErrors();
  const fail = errors.fail;
  const { windowSeconds } = RATE_WINDOW_LIMITS;

  if (typeof input.customerId !== 'string' || !isUUID(input.customerId))
    fail('customerId', 'must be a UUID');
  if (typeof input.feature !== 'string' || !DOMAIN_KEY.test(input.feature))
    fail('feature', 'must be a feature key');
  const secondsOk =
    isSafeIntegerFrom(input.windowSeconds, windowSeconds.min) &&
    input.windowSeconds <= windowSeconds.max;
  if (!secondsOk)
    fail('windowSeconds', `must be an integer from ${windowSeconds.min} to ${windowSeconds.max}`);
  const windowMs = secondsOk ? input.windowSeconds * 1000 : 0;
  if (
    !isSafeIntegerFrom(input.windowStartMs, 0) ||
    (secondsOk &&
      (input.windowStartMs % windowMs !== 0 || input.windowStartMs + windowMs > MAX_DATE_MS))
  )
    fail('windowStartMs', 'must be a time in ms (≥ 0), a multiple of windowSeconds × 1000');
  const limitOk = isSafeIntegerFrom(input.limit, 1);
  if (!limitOk) fail('limit', `must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}`);
  if (!isSafeIntegerFrom(input.units, 1) || (limitOk && input.units > input.limit))
    fail('units', 'must be an integer from 1 to limit');
  errors.throwIfAny('rate window');

  return {
    customerId: input.customerId,
    feature: input.feature,
    windowStart: new Date(input.windowStartMs),
    windowEnd: new Date(input.windowStartMs + windowMs),
    limit: input.limit,
    units: input.units,
  };
}
