/**
 * Token amounts are integers in the asset's smallest unit and can pass 2^53 (18-decimal tokens
 * do at 0.009 of a token), so they travel as decimal strings and are computed as BigInt.
 */

/** A non-negative integer in decimal, without sign, exponent or leading zeros; 78 digits cover uint256. */
const DECIMAL_AMOUNT = /^(0|[1-9][0-9]{0,77})$/;

export function isDecimalAmount(value: unknown): value is string {
  return typeof value === 'string' && DECIMAL_AMOUNT.test(value);
}

/**
 * amountPerCall + units × amountPerUnit, exactly. Throws on a malformed price or unit count
 * (configuration errors).
 */
export function totalAmount(units: number, amountPerUnit: string, amountPerCall = '0'): bigint {
  if (!Number.isSafeInteger(units) || units <= 0) {
    throw new RangeError(`units must be a positive safe integer, got ${units}`);
  }
  if (!isDecimalAmount(amountPerUnit)) {
    throw new RangeError(`amountPerUnit must be a decimal integer string, got ${amountPerUnit}`);
  }
  if (!isDecimalAmount(amountPerCall)) {
    throw new RangeError(`amountPerCall must be a decimal integer string, got ${amountPerCall}`);
  }
  return BigInt(amountPerCall) + BigInt(units) * BigInt(amountPerUnit);
}
