import { MAX_EXACT_INT, toBigInt, toExactInt, toSafeInt } from './columns';

const MAX = BigInt(MAX_EXACT_INT);

describe('Postgres integers as JSON', () => {
  it('answers numbers within ±(2^53 − 1) and exact decimal strings beyond', () => {
    expect(toExactInt('42')).toBe(42);
    expect(toExactInt(MAX.toString())).toBe(MAX_EXACT_INT);
    expect(toExactInt((-MAX).toString())).toBe(-MAX_EXACT_INT);
    expect(toExactInt((MAX + 1n).toString())).toBe('9007199254740992');
    expect(toExactInt((MAX * 2n).toString())).toBe('18014398509481982');
    expect(toExactInt('-18014398509481983')).toBe('-18014398509481983');
    expect(toExactInt('123.000')).toBe(123);
    expect(toExactInt(null)).toBe(0);
  });

  it('saturates at the bound for decisions instead of throwing or rounding', () => {
    expect(toSafeInt('7')).toBe(7);
    expect(toSafeInt((MAX * 3n).toString())).toBe(MAX_EXACT_INT);
    expect(toSafeInt((-MAX * 3n).toString())).toBe(-MAX_EXACT_INT);
    expect(toSafeInt(undefined)).toBe(0);
  });

  it('refuses what is not an integer', () => {
    expect(() => toBigInt('1.5')).toThrow(RangeError);
    expect(() => toBigInt('abc')).toThrow(RangeError);
    expect(() => toBigInt(0.5)).toThrow(RangeError);
  });
});
