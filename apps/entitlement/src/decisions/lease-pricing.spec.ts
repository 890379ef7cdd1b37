import { extraOnCredits, splitIncluded } from './lease-pricing';

describe('splitIncluded', () => {
  it('takes included units first, for the request and then for its extra units', () => {
    expect(splitIncluded({ cost: 3, leaseUnits: 10, included: 8, used: 2 })).toEqual({
      fromIncluded: 3,
      beyond: 0,
      extraWanted: 7,
      extraIncluded: 3,
    });
  });

  it('puts what included units do not cover beyond them', () => {
    expect(splitIncluded({ cost: 5, leaseUnits: 9, included: 10, used: 8 })).toEqual({
      fromIncluded: 2,
      beyond: 3,
      extraWanted: 4,
      extraIncluded: 0,
    });
  });

  it('treats a lease of 0 or none as the cost alone, and overused included units as none', () => {
    for (const leaseUnits of [undefined, 0, 1]) {
      expect(splitIncluded({ cost: 2, leaseUnits, included: 1, used: 7 })).toEqual({
        fromIncluded: 0,
        beyond: 2,
        extraWanted: 0,
        extraIncluded: 0,
      });
    }
  });

  it('stays exact at 2^53 − 1 included units', () => {
    const max = Number.MAX_SAFE_INTEGER;
    expect(splitIncluded({ cost: 1, leaseUnits: 100, included: max, used: max - 50 })).toEqual({
      fromIncluded: 1,
      beyond: 0,
      extraWanted: 99,
      extraIncluded: 49,
    });
  });
});

describe('extraOnCredits', () => {
  it('grants as many extra units as the balance covers after the request itself', () => {
    // 10 credits, the request's 2 units beyond at 3 each take 6: 4 left cover 1 more unit.
    expect(extraOnCredits(5, 2, 3, 10)).toBe(1);
    expect(extraOnCredits(5, 0, 3, 100)).toBe(5);
  });

  it('shrinks the lease to the cost itself near the end of the balance, never below', () => {
    expect(extraOnCredits(5, 2, 3, 6)).toBe(0);
    expect(extraOnCredits(5, 2, 3, 1)).toBe(0); // the request is refused elsewhere
  });

  it('grants every wanted unit when units are free, without needing the balance', () => {
    expect(extraOnCredits(7, 3, 0, undefined)).toBe(7);
  });

  it('grants nothing when nothing is wanted or the balance was not read', () => {
    expect(extraOnCredits(0, 1, 2, 100)).toBe(0);
    expect(extraOnCredits(3, 1, 2, undefined)).toBe(0);
  });

  it('stays within the balance at 2^53 − 1 credits', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const extra = extraOnCredits(1_000_000, 1, 2 ** 40, max);
    expect((1 + extra) * 2 ** 40).toBeLessThanOrEqual(max);
    expect((2 + extra) * 2 ** 40).toBeGreaterThan(max);
  });
});
