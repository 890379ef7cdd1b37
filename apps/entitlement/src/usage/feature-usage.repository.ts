import { preparedQuery, toSafeInt } from '@paygate/database';
import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import { giveBackTurn } from '../leases/leases.repository';

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
 * The SELECT that locks an existing counter row for the rest of the statement or transaction
 * and reads its value (none when the period has no row yet: featureUsage.lock creates it).
 */
export const usageLockExisting = (subscription: string, feature: string, periodStart: string) =>
  `SELECT "used" FROM ${tables.feature_usage}
   WHERE "subscription_id" = ${subscription} AND "feature_key" = ${feature} AND "period_start" = ${periodStart}
   FOR UPDATE`;

/**
 * The UPDATE that adds units to an (opened) counter (featureUsage.add), for a statement of its
 * own or one that writes more; the arguments are the statement's placeholders, and `when` a
 * further condition (costAdmission: that the statement admitted).
 */
export const usageAdd = (
  subscription: string,
  feature: string,
  periodStart: string,
  units: string,
  when?: string,
) =>
  `UPDATE ${tables.feature_usage} SET "used" = "used" + ${units}
   WHERE "subscription_id" = ${subscription} AND "feature_key" = ${feature} AND "period_start" = ${periodStart}${when ? ` AND ${when}` : ''}`;

/** The row featureUsage.lock inserts, once the counter's give-back turn is taken (shared). */
const TAKING_TURN = `SELECT $1::uuid, $2::text, $3::timestamptz, 0
  FROM (SELECT pg_advisory_xact_lock_shared(${giveBackTurn('$1::uuid', '$2::text')})) AS "turn"`;

/**
 * The SQL of feature usage: a counter row per (subscription, feature, period start) of the
 * units of a metered feature used in that period (included units are counted against it).
 */
export const featureUsage = {
  /**
   * Locks the period's counter row for the rest of the transaction, creating it at 0 unless it
   * exists; its value. One statement: the no-op update of an existing row takes its lock and
   * returns its newest committed value, as SELECT ... FOR UPDATE would.
   *
   * With `takeTurn` (a decision that may take credits), the counter's give-back turn is taken
   * first, shared (giveBackTurn), in the same statement: it waits for a give-back of the
   * counter in flight to commit, and a give-back waits for it. It must come before the
   * counter's lock (a give-back holding the turn waits for the counter), and it may come in the
   * same statement although the statement's snapshot is older than that give-back's commit:
   * the counter is the only row read here, and ON CONFLICT DO UPDATE locks and returns its
   * newest version whatever the snapshot; the transaction's later statements take new ones.
   */
  async lock(manager: EntityManager, counter: UsageCounter, takeTurn = false): Promise<number> {
    const [row]: { used: string }[] = await preparedQuery(
      manager,
      `INSERT INTO ${tables.feature_usage} AS u ("subscription_id", "feature_key", "period_start", "used")
       ${takeTurn ? TAKING_TURN : 'VALUES ($1, $2, $3, 0)'}
       ON CONFLICT ("subscription_id", "feature_key", "period_start") DO UPDATE SET "used" = u."used"
       RETURNING "used"`,
      key(counter),
    );
    return toSafeInt(row.used);
  },

  /** The counter's value, without a lock (0 when nothing was used in the period yet). */
  async used(manager: EntityManager, counter: UsageCounter): Promise<number> {
    const [row]: { used: string }[] = await preparedQuery(
      manager,
      `SELECT "used" FROM ${tables.feature_usage}
       WHERE "subscription_id" = $1 AND "feature_key" = $2 AND "period_start" = $3`,
      key(counter),
    );
    return toSafeInt(row?.used ?? 0);
  },

  /** Adds `units` (negative: gives them back) to the (opened) counter. */
  async add(manager: EntityManager, counter: UsageCounter, units: number): Promise<void> {
    await preparedQuery(manager, usageAdd('$1', '$2', '$3', '$4'), [...key(counter), units]);
  },
};
