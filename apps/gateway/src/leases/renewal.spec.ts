import type { CheckResponse } from '@paygate/contracts';
import type { HeldLease } from './lease-book';
import { RefillTime, renewalDue } from './renewal';

const OPTIONS = { aheadMs: 1_000, maxAgeMs: 10_000, renewAtShare: 0.25 };

function lease(units: number, admitted: number, obtainedAt = 0): HeldLease {
  return { grant: {} as CheckResponse, units, admitted, obtainedAt, lastUsedAt: obtainedAt };
}

describe('renewalDue', () => {
  it('renews once less than renewAtShare is left, while the recent demand needs more', () => {
    expect(renewalDue([lease(100, 74)], 10, 0, 0, OPTIONS)).toBe(false);
    expect(renewalDue([lease(100, 76)], 30, 0, 0, OPTIONS)).toBe(true);
  });

  it('does not renew when what is left covers the recent demand', () => {
    expect(renewalDue([lease(100, 90)], 10, 0, 0, OPTIONS)).toBe(false);
  });

  it('renews earlier when a refill takes long at the recent rate', () => {
    // 60 left of 100 (over the share), but 1,000 units a second for a 50 ms refill uses 50:
    // less than twice that is left, so the next lease is asked for now.
    expect(renewalDue([lease(100, 40)], 1_000, 50, 0, OPTIONS)).toBe(true);
    expect(renewalDue([lease(100, 40)], 1_000, 20, 0, OPTIONS)).toBe(false);
  });

  it('does not count units of a lease that ages out before a refill could land', () => {
    // 90 units left, but the lease is too old to admit from by the time a refill of 100 ms
    // (twice over) lands.
    expect(renewalDue([lease(100, 10, 0)], 200, 100, 9_850, OPTIONS)).toBe(true);
    expect(renewalDue([lease(100, 10, 0)], 200, 100, 9_700, OPTIONS)).toBe(false);
  });

  it('never renews a book of unmetered grants only, nor an empty one', () => {
    expect(renewalDue([lease(Number.POSITIVE_INFINITY, 5)], 1_000, 50, 0, OPTIONS)).toBe(false);
    expect(renewalDue([], 1_000, 50, 0, OPTIONS)).toBe(false);
  });
});

describe('RefillTime', () => {
  it('moves a fifth of the way to each refill it observes', () => {
    const time = new RefillTime();
    expect(time.ms).toBe(0);
    time.observe(100);
    expect(time.ms).toBeCloseTo(20);
    time.observe(100);
    expect(time.ms).toBeCloseTo(36);
  });
});
