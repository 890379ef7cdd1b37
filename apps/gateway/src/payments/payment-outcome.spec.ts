import { creditsPaid, paysWholeCredits } from './payment-outcome';

describe('creditsPaid and paysWholeCredits', () => {
  const asset = { amountPerUnit: '250', amountPerCall: '3' };

  it('an amount of amountPerCall + N × amountPerUnit buys N credits, with nothing over', () => {
    for (const [amount, credits] of [
      ['253', 1n],
      ['503', 2n],
      ['250000000003', 1_000_000_000n],
    ] as const) {
      expect([amount, creditsPaid(amount, asset, 1)]).toEqual([amount, credits]);
      expect([amount, paysWholeCredits(amount, asset)]).toEqual([amount, true]);
    }
  });

  it('an amount with a remainder is not whole credits: the remainder would buy nothing', () => {
    for (const amount of ['254', '502', '499', '0']) {
      expect([amount, paysWholeCredits(amount, asset)]).toEqual([amount, false]);
    }
    // What the probe sent: just under two credits of a price past 2^53.
    const big = { amountPerUnit: '9007199254740993', amountPerCall: '3' };
    expect(creditsPaid('18014398509481988', big, 1)).toBe(1n);
    expect(paysWholeCredits('18014398509481988', big)).toBe(false);
    expect(paysWholeCredits('18014398509481989', big)).toBe(true);
  });

  it('with no price per unit, only amountPerCall itself is exact', () => {
    const flat = { amountPerUnit: '0', amountPerCall: '100' };
    expect(paysWholeCredits('100', flat)).toBe(true);
    expect(paysWholeCredits('101', flat)).toBe(false);
    expect(paysWholeCredits('99', flat)).toBe(false);
  });

  it('without amountPerCall, multiples of amountPerUnit', () => {
    expect(paysWholeCredits('750', { amountPerUnit: '250' })).toBe(true);
    expect(paysWholeCredits('751', { amountPerUnit: '250' })).toBe(false);
  });
});
