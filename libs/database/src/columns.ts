import type { ValueTransformer } from 'typeorm';

/**
 * The largest integer a JSON number (an IEEE 754 double) carries exactly: 2^53 − 1. Postgres
 * bigint and numeric columns go further; values past this bound are read as exact decimal
 * strings (`toExactInt`) where they are shown, and saturate (`toSafeInt`) where they only
 * feed a decision.
 */
export const MAX_EXACT_INT = Number.MAX_SAFE_INTEGER;

/** An integer as JSON: a number while it is a safe integer, else its exact decimal string. */
export type ExactInt = number | string;

const INTEGER = /^-?\d+$/;

/** A Postgres integer (bigint or an integral numeric, which arrive as strings) as a bigint. */
export function toBigInt(value: string | number | bigint | null | undefined): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new RangeError(`${value} is not an integer`);
    return BigInt(value);
  }
  // An integral numeric may carry a zero scale ("12.000").
  const text = value.trim().replace(/\.0*$/, '');
  if (!INTEGER.test(text)) throw new RangeError(`${value} is not an integer`);
  return BigInt(text);
}

/**
 * An integer for a response: exact whatever its size, a JSON number up to ±(2^53 − 1) and a
 * decimal string beyond (so a client never reads a rounded amount).
 */
export function toExactInt(value: string | number | bigint | null | undefined): ExactInt {
  const n = toBigInt(value);
  return n <= BigInt(MAX_EXACT_INT) && n >= -BigInt(MAX_EXACT_INT) ? Number(n) : n.toString();
}

/**
 * Postgres bigint arrives as a string; this reads it as a number for arithmetic and decisions.
 * Values past ±(2^53 − 1) saturate at the bound instead of being rounded or thrown: every limit
 * they are compared with (included units, prices, costs, the balance bound) is a safe integer,
 * so a saturated value decides the same way as the exact one (a usage counter past the bound
 * has used up every included unit, a balance past it covers every cost that fits in a number),
 * and a read never turns into a 5xx. Amounts that are shown or written back must stay exact:
 * use `toExactInt` or `toBigInt` for those.
 */
export function toSafeInt(value: string | number | bigint | null | undefined): number {
  const n = toBigInt(value);
  if (n > BigInt(MAX_EXACT_INT)) return MAX_EXACT_INT;
  if (n < -BigInt(MAX_EXACT_INT)) return -MAX_EXACT_INT;
  return Number(n);
}

/**
 * For entity columns whose values are bounded by validation when they are written (plan
 * prices and included units): a stored value outside the safe range is refused rather than
 * silently rounded.
 */
export const bigintToNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => {
    if (value === null || value === undefined) return value;
    const n = Number(value);
    if (!Number.isSafeInteger(n))
      throw new RangeError(`bigint ${value} exceeds the safe integer range`);
    return n;
  },
};
