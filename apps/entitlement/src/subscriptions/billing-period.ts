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
 * The n-th period boundary after the anchor. Months and years are counted from the anchor,
 * not from the previous boundary, so a subscription anchored on the 31st bills on the 30th in
 * April and on the 31st again in May (no drift), and the 29th of February falls back to the 28th.
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

/** The period [start, end) that contains `at` (at must not be before the anchor). */
export function periodContaining(
  anchor: Date,
  interval: BillingInterval,
  at: Date,
): { start: Date; end: Date } {
  const approxMs = { day: DAY_MS, week: 7 * DAY_MS, month: 28 * DAY_MS, year: 365 * DAY_MS }[
    interval
  ];
  let n = Math.max(0, Math.floor((at.getTime() - anchor.getTime()) / approxMs));
  // The estimate can overshoot by a little (months are 28-31 days); step back, then forward.
  while (n > 0 && periodBoundary(anchor, interval, n) > at) n -= 1;
  while (periodBoundary(anchor, interval, n + 1) <= at) n += 1;
  return {
    start: periodBoundary(anchor, interval, n),
    end: periodBoundary(anchor, interval, n + 1),
  };
}
