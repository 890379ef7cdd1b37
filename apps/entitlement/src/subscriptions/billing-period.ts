export const BILLING_INTERVALS = ['day', 'week', 'month', 'year'] as const;
export type BillingInterval = (typeof BILLING_INTERVALS)[number];

const DAY_MS = 24 * 3600 * 1000;

function addMonthsClamped(anchor: Date, months: number): Date {
  const year = anchor.getUTCFullYear();
  const month = anchor.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      year,
      month,
      Math.min(anchor.getUTCDate(), lastDay),
      anchor.getUTCHours(),
      anchor.getUTCMinutes(),
      anchor.getUTCSeconds(),
      anchor.getUTCMilliseconds(),
    ),
  );
}

/**
 * The n-th period boundary after the anchor (before it for a negative n). Months and years are
 * counted from the anchor, not from the previous boundary, so a subscription anchored on the
 * 31st bills on the 30th in April and on the 31st again in May (no drift), and the 29th of
 * February falls back to the 28th; backwards alike (the 31st of March steps back to the 28th
 * of February, then the 31st of January).
 */
export function periodBoundary(anchor: Date, interval: BillingInterval, n: number): Date {
  switch (interval) {
    case 'day':
      return new Date(anchor.getTime() + n * DAY_MS);
    case 'week':
      return new Date(anchor.getTime() + n * 7 * DAY_MS);
    case 'month':
      return addMonthsClamped(anchor, n);
    case 'year':
      return addMonthsClamped(anchor, 12 * n);
  }
}

/**
 * The index of the period containing `at`, or of the one after it: exact for days and weeks;
 * for months and years the boundary in `at`'s own calendar month or year, which may still lie
 * ahead of `at` (a later day of the month, or a later time of day).
 */
function estimateIndex(anchor: Date, interval: BillingInterval, at: Date): number {
  const years = at.getUTCFullYear() - anchor.getUTCFullYear();
  const elapsed = at.getTime() - anchor.getTime();
  switch (interval) {
    case 'day':
      return Math.floor(elapsed / DAY_MS);
    case 'week':
      return Math.floor(elapsed / (7 * DAY_MS));
    case 'month':
      return years * 12 + at.getUTCMonth() - anchor.getUTCMonth();
    case 'year':
      return years;
  }
}

/**
 * The period [start, end) that contains `at`, on either side of the anchor: before it, the
 * anchor's periods run backwards (n < 0) by the same rule, so a trial that ends at the anchor
 * has day windows at the anchor's time of day and month windows on its day of the month.
 */
export function periodContaining(
  anchor: Date,
  interval: BillingInterval,
  at: Date,
): { start: Date; end: Date } {
  // At most one step back; the forward loop only guards the estimate.
  let n = estimateIndex(anchor, interval, at);
  while (periodBoundary(anchor, interval, n) > at) n -= 1;
  while (periodBoundary(anchor, interval, n + 1) <= at) n += 1;
  return {
    start: periodBoundary(anchor, interval, n),
    end: periodBoundary(anchor, interval, n + 1),
  };
}

/**
 * The period a subscription moves to when the one ending at `previousEnd` is over: the one
 * containing `now`, but never starting before `previousEnd`. A first period of its own length
 * (`currentPeriodEnd` off the anchor's boundaries) ends inside an anchored period, which
 * starts where the first one did (a shorter first period) or inside it (a longer one): the
 * billing counter, kept per period start, would not start again or the periods would overlap.
 * So the next period runs from `previousEnd` to the anchored boundary after it.
 */
export function periodAfter(
  anchor: Date,
  interval: BillingInterval,
  previousEnd: Date,
  now: Date,
): { start: Date; end: Date } {
  const period = periodContaining(anchor, interval, now);
  return period.start < previousEnd ? { start: previousEnd, end: period.end } : period;
}
