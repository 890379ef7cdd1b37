/** Events operators receive at their webhook URL when a customer crosses a threshold. */
export type Alert =
  | {
      type: 'usage.threshold';
      customerId: string;
      feature: string;
      percent: number;
      used: number;
      limit: number;
      windowStart: string;
    }
  | { type: 'balance.low'; customerId: string; balance: number; threshold: number };

/** Percent thresholds of the included units that this admission crossed. */
export function crossedUsageThresholds(
  percents: number[],
  included: number,
  before: number,
  after: number,
): number[] {
  if (included <= 0) return [];
  return percents.filter((p) => before * 100 < included * p && after * 100 >= included * p);
}

/** Whether a balance went from above the threshold to at or below it. */
export function crossedLowBalance(threshold: number, before: number, after: number): boolean {
  return before > threshold && after <= threshold;
}
