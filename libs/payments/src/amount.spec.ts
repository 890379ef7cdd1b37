import { totalAmount } from './amount';

describe('totalAmount', () => {
  it('adds the per-call amount to units × the unit price, exactly past 2^53', () => {
    expect(totalAmount(3, '1000')).toBe(3000n);
    expect(totalAmount(3, '1000', '7')).toBe(3007n);
    expect(totalAmount(2, '9007199254740993', '1')).toBe(18014398509481987n);
  });

  it('refuses prices and counts that are not whole numbers', () => {
    expect(() => totalAmount(1, '1.5')).toThrow(RangeError);
    expect(() => totalAmount(1, '1', '-1')).toThrow(/amountPerCall/);
    expect(() => totalAmount(0, '1')).toThrow(/units/);
    expect(() => totalAmount(2 ** 53, '1')).toThrow(/units/);
  });
});
