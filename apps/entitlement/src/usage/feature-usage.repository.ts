import { toSafeInt } from '@paygate/database';
import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';

/** One counter: a metered feature's units used in a subscription's period (from its start). */
export interface UsageCounter {
  subscriptionId: string;
  feature: string;
  periodStart: Date;
}

const key = (counter: UsageCounter) => [
  counter.subscriptionId,
  counter.feature,
  counter.periodStart,
];

/**
 * The SQL of feature usage: a counter row per (subscription, feature, period start) of the
 * units of a metered feature used in that period (included units are counted against it).
 */
export const featureUsage = {
  /** Creates the period's counter at 0 unless it exists. */
  async open(manager: EntityManager, counter: UsageCounter): Promise<void> {
    await manager.query(
      `INSERT INTO ${tables.feature_usage} ("subscription_id", "feature_key", "period_start", "used")
       VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING`,
      key(counter),
    );
  },

  /** Locks the (opened) counter's row for the rest of the transaction; its value. */
  async lockUsed(manager: EntityManager, counter: UsageCounter): Promise<number> {
    const [row]: { used: string }[] = await manager.query(
      `SELECT "used" FROM ${tables.feature_usage}
       WHERE "subscription_id" = $1 AND "feature_key" = $2 AND "period_start" = $3 FOR UPDATE`,
      key(counter),
    );
    return toSafeInt(row.used);
  },

  /** The counter's value, without a lock (0 when nothing was used in the period yet). */
  async used(manager: EntityManager, counter: UsageCounter): Promise<number> {
    const [row]: { used: string }[] = await manager.query(
      `SELECT "used" FROM ${tables.feature_usage}
       WHERE "subscription_id" = $1 AND "feature_key" = $2 AND "period_start" = $3`,
      key(counter),
    );
    return toSafeInt(row?.used ?? 0);
  },

  /** Adds `units` (negative: gives them back) to the (opened) counter. */
  async add(manager: EntityManager, counter: UsageCounter, units: number): Promise<void> {
    await manager.query(
      `UPDATE ${tables.feature_usage} SET "used" = "used" + $4
       WHERE "subscription_id" = $1 AND "feature_key" = $2 AND "period_start" = $3`,
      [...key(counter), units],
    );
  },
};
