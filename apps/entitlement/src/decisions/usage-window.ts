import type { UsagePeriod } from '../plans/plan-terms';
import { periodContaining } from '../subscriptions/billing-period';

const HOUR_MS = 3600 * 1000;

export interface UsageWindow {
  start: Date;
  /** When the included units start again; null for `none`. */
  end: Date | null;
}

/**
 * The window in which a feature's included units are counted. Windows are anchored at the
 * subscription's billing anchor, so a customer's "day" or "month" starts when theirs does;
 * before the anchor (a trial that ends there) they step back from it, so trial days reset
 * daily and none of them shares a window, or its counter, with the first paid day or month.
 */
export function usageWindow(
  period: UsagePeriod,
  subscription: { periodStart: Date; periodEnd: Date; billingAnchor: Date },
  now: Date,
): UsageWindow {
  switch (period) {
    case 'billing':
      return { start: subscription.periodStart, end: subscription.periodEnd };
    case 'none':
      return { start: new Date(0), end: null };
    case 'hour': {
      const anchor = subscription.billingAnchor.getTime();
      const start = anchor + Math.floor((now.getTime() - anchor) / HOUR_MS) * HOUR_MS;
      return { start: new Date(start), end: new Date(start + HOUR_MS) };
    }
    default:
      return periodContaining(subscription.billingAnchor, period, now);
  }
}
