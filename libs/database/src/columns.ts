import type { ValueTransformer } from 'typeorm';

/**
 * Postgres bigint arrives as a string; amounts are integers of units or credits that stay far
 * below 2^53, and a value outside that range is refused rather than silently rounded.
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

export function toSafeInt(value: string | number | null | undefined): number {
  return (
    (bigintToNumber.from(value === undefined || value === null ? '0' : String(value)) as number) ??
    0
  );
}
