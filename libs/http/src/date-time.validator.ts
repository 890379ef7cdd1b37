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
