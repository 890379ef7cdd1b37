import { ValidateBy, type ValidationOptions, buildMessage } from 'class-validator';

/**
 * An RFC 3339 date-time with its offset: `2026-01-31T12:00:00Z`, `…T12:00:00.5+01:00`.
 * class-validator's ISO 8601 check (`IsDateString`, strict) also takes forms that JavaScript
 * or Postgres refuse or read otherwise (`2024`, `2024-W01-1`, `20240101`, a day 30 of
 * February, an offset of 23:59, a time without an offset, read in the server's zone), which
 * then reach the database and answer 500. Years 0001–9999, offsets up to ±15:59 (Postgres's
 * range), no leap second (a Date has none), and a day the month has.
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt]([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(\.\d{1,9})?([Zz]|[+-](0\d|1[0-5]):[0-5]\d)$/;

export function isRfc3339DateTime(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const match = RFC3339.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  // The month's last day, leap years included.
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Validates an RFC 3339 date-time with its offset (see isRfc3339DateTime). */
export function IsRfc3339DateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRfc3339DateTime',
      validator: {
        validate: (value: unknown) => isRfc3339DateTime(value),
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must be an RFC 3339 date-time with an offset, like 2026-01-31T12:00:00Z`,
          options,
        ),
      },
    },
    options,
  );
}

/**
 * The instants a date-time input that paygate stores may name, both ends included: a
 * subscription's period, a grant's `effectiveAt`. Dates are derived from them (a period's end
 * one interval after its start, usage windows and renewals a period or a few ahead, a year at
 * most per period) and written back with `toISOString`, which past year 9999 writes
 * `+010000-…`, not RFC 3339: up to 9000 leaves them room to stay in years 0001–9999. From 1970
 * (the Unix epoch, where a feature that never resets counts from): no calendar arithmetic meets
 * `Date.UTC`'s years 0–99 (read as 1900–1999) or a negative epoch. Compared as instants, so
 * `…T00:30:00+01:00` on 1970-01-01 is before it. Filters that only select (a query's
 * `from`/`to`) keep the wider RFC 3339 range.
 */
export const DATE_INPUT_RANGE = {
  min: '1970-01-01T00:00:00Z',
  max: '9000-01-01T00:00:00Z',
} as const;

/**
 * The instants an expiry may name: a grant's or an API key's `expiresAt`. Nothing is derived
 * from one (it is only compared with the clock and other dates), so it may go to the end of
 * year 9999, which operators write for "never" (`9999-12-31T23:59:59Z`), and is still read
 * back in RFC 3339. Inputs are taken to the millisecond (a JavaScript Date), so no finer
 * fraction rounds past the end.
 */
export const EXPIRY_INPUT_RANGE = {
  min: DATE_INPUT_RANGE.min,
  max: '9999-12-31T23:59:59.999Z',
} as const;

/** Both ends of a range of date-time inputs, written as RFC 3339. */
export interface DateInputRange {
  readonly min: string;
  readonly max: string;
}

/**
 * Whether an RFC 3339 date-time lies within a range (DATE_INPUT_RANGE unless named). Anything
 * that is not one is left to isRfc3339DateTime (true here), so a field is refused for one
 * reason at a time.
 */
export function isInDateInputRange(
  value: unknown,
  range: DateInputRange = DATE_INPUT_RANGE,
): boolean {
  if (!isRfc3339DateTime(value)) return true;
  const ms = Date.parse(value as string);
  return ms >= Date.parse(range.min) && ms <= Date.parse(range.max);
}

/**
 * Validates that a date-time input lies within a range, DATE_INPUT_RANGE unless named (with
 * IsRfc3339DateTime, which checks its form): every date derived from it prints as RFC 3339.
 */
export function IsInDateInputRange(
  range: DateInputRange = DATE_INPUT_RANGE,
  options?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isInDateInputRange',
      constraints: [range.min, range.max],
      validator: {
        validate: (value: unknown) => isInDateInputRange(value, range),
        defaultMessage: buildMessage(
          (each) => `${each}$property must be between $constraint1 and $constraint2`,
          options,
        ),
      },
    },
    options,
  );
}

/**
 * The end of a window that does not come before its start, the object's `start` property
 * (a window's `to` and `from`): a reversed one is a mistake to name (400), not an empty answer.
 * Values that are not dates are left to their own rules; equal ones make an empty window.
 */
export function IsNotBefore(start: string, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNotBefore',
      constraints: [start],
      validator: {
        validate: (value, args) => {
          const from = (args?.object as Record<string, unknown> | undefined)?.[start];
          if (typeof value !== 'string' || typeof from !== 'string') return true;
          const [end, begin] = [Date.parse(value), Date.parse(from)];
          return Number.isNaN(end) || Number.isNaN(begin) || end >= begin;
        },
        defaultMessage: buildMessage((each) => `${each}$property must not be before ${start}`),
      },
    },
    options,
  );
}
