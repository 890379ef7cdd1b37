import { type ExactInt, toExactInt } from '@paygate/database';

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
  | {
      type: 'balance.low';
      customerId: string;
      /** A JSON number, or an exact decimal string past ±(2^53 − 1) (usage may overdraw). */
      balance: ExactInt;
      threshold: number;
    };

/** What alerts are raised for (AlertSettings' thresholds). */
export interface AlertThresholds {
  usagePercents: readonly number[];
  lowBalance: number | undefined;
}

/** A change of a customer's usage counter and, when credits were taken, of their balance. */
export interface UsageChange {
  customerId: string;
  feature: string;
  /** The feature's included units in the window, and the counter before the change. */
  included: number;
  usedBefore: number;
  units: number;
  windowStart: Date;
  /** The balance before and after, when the change took credits. */
  balance?: { before: bigint; after: bigint };
}

/** Percent thresholds of the included units that this admission crossed. */
export function crossedUsageThresholds(
  percents: readonly number[],
  included: number,
  before: number,
  after: number,
): number[] {
  if (included <= 0) return [];
  return percents.filter((p) => before * 100 < included * p && after * 100 >= included * p);
}

/** Whether a balance went from above the threshold to at or below it. */
export function crossedLowBalance(
  threshold: number | bigint,
  before: number | bigint,
  after: number | bigint,
): boolean {
  return before > threshold && after <= threshold;
}

/**
 * The alerts a change raises: each share of the included units its units crossed, and a low
 * balance its credits crossed. The same for an admission and for usage reported without a
 * lease, so an operator hears of a threshold however the units were used.
 */
export function thresholdAlerts(thresholds: AlertThresholds, change: UsageChange): Alert[] {
  const { customerId, feature, included, usedBefore, units } = change;
  // Counters saturate at 2^53 − 1 (toSafeInt): the sum is compared, never shown past it.
  const after = Math.min(usedBefore + units, Number.MAX_SAFE_INTEGER);
  const alerts: Alert[] = crossedUsageThresholds(
    thresholds.usagePercents,
    included,
    usedBefore,
    after,
  ).map((percent) => ({
    type: 'usage.threshold',
    customerId,
    feature,
    percent,
    used: after,
    limit: included,
    windowStart: change.windowStart.toISOString(),
  }));
  const { lowBalance } = thresholds;
  const { balance } = change;
  if (balance && lowBalance !== undefined) {
    if (crossedLowBalance(BigInt(lowBalance), balance.before, balance.after)) {
      alerts.push({
        type: 'balance.low',
        customerId,
        balance: toExactInt(balance.after),
        threshold: lowBalance,
      });
    }
  }
  return alerts;
}
