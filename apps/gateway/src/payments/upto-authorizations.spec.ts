import type { ParsedPayment } from '@paygate/payments';
import { holdEnd } from './upto-authorizations';

const now = new Date('2026-12-03T12:00:00Z');
const payment = (validBefore?: string) =>
  ({ ...(validBefore ? { validBefore: new Date(validBefore) } : {}) }) as ParsedPayment;

describe('holdEnd', () => {
  it("is holdSeconds from now when the payment's validity reaches far enough", () => {
    expect(holdEnd(payment('2026-12-03T12:05:00Z'), 60, now)).toBe(now.getTime() + 60_000);
    // A payload without a stated validity (some EVM payloads) holds as configured.
    expect(holdEnd(payment(), 60, now)).toBe(now.getTime() + 60_000);
  });

  it('ends 30 s before the payment stops being valid, so it can still be settled', () => {
    expect(holdEnd(payment('2026-12-03T12:01:00Z'), 60, now)).toBe(now.getTime() + 30_000);
    // Valid for less than the margin: the hold is over before it began (refused by the caller).
    expect(holdEnd(payment('2026-12-03T12:00:20Z'), 60, now)).toBeLessThan(now.getTime());
  });
});
