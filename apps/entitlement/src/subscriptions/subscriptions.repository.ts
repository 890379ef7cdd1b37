import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import type { BillingInterval } from './billing-period';
import { ENDED_STATUSES, type SubscriptionStatus } from './subscription.entity';

/** A customer's latest subscription as its lifecycle reads it, with its plan's key. */
export interface SubscriptionRow {
  id: string;
  status: SubscriptionStatus;
  plan_id: string;
  plan_key: string;
  current_period_start: Date;
  current_period_end: Date;
  billing_interval: BillingInterval;
  billing_anchor: Date;
  cancel_at_period_end: boolean;
  past_due_since: Date | null;
  grace_period_seconds: number;
}

/**
 * The unique index that allows a customer one live subscription (see the OneLiveSubscription
 * migration): a write that would make a second one live fails on it.
 */
export const ONE_LIVE_SUBSCRIPTION_INDEX = 'subscriptions_one_live';

/** Whether the subscription `s` has ended (SQL): its status is one of ENDED_STATUSES. */
const ENDED_SQL = (s: string) =>
  `${s}"status" IN (${ENDED_STATUSES.map((status) => `'${status}'`).join(', ')})`;

/** Whether `s` is live (SQL), written as the one-live index's predicate is, so it is used. */
const LIVE_SQL = (s: string) =>
  `${s}"status" NOT IN (${ENDED_STATUSES.map((status) => `'${status}'`).join(', ')})`;

/** Where the newest payment provider event applied to a subscription is recorded, by kind. */
export type ProviderOrderColumn = 'provider_status_order' | 'provider_plan_order';

/**
 * The statement behind `latest`: a customer's latest subscription with its plan's key, the
 * customer's id being the SQL expression `customer` (a parameter, or a column of an outer
 * query, see decisionReads). The latest is the customer's live subscription (at most one), and
 * without one their newest: a live one created after another subscription ended may carry the
 * older `created_at` (the time its transaction began, before it waited for the other's).
 */
export function latestSubscriptionSql(customer: string): string {
  return `SELECT s."id", s."status", s."plan_id", p."key" AS "plan_key", s."current_period_start",
              s."current_period_end", s."billing_interval", s."billing_anchor", s."cancel_at_period_end",
              s."past_due_since", s."grace_period_seconds"
       FROM ${tables.subscriptions} s JOIN ${tables.plans} p ON p."id" = s."plan_id"
       WHERE s."id" = COALESCE(
         -- The live one (the one-live index finds it), else the newest (customer and created_at).
         (SELECT l."id" FROM ${tables.subscriptions} l
          WHERE l."customer_id" = ${customer} AND ${LIVE_SQL('l.')} LIMIT 1),
         (SELECT n."id" FROM ${tables.subscriptions} n
          WHERE n."customer_id" = ${customer} ORDER BY n."created_at" DESC, n."id" LIMIT 1))`;
}

/** The SQL of subscriptions (see the Subscriptions and SubscriptionLifecycle migrations). */
export const subscriptions = {
  /** The customer's latest subscription, if any. */
  async latest(manager: EntityManager, customerId: string): Promise<SubscriptionRow | undefined> {
    const [row]: SubscriptionRow[] = await manager.query(latestSubscriptionSql('$1'), [customerId]);
    return row;
  },

  /**
   * Locks the customer's row until the transaction ends, if the customer exists: creates of
   * one customer's subscriptions take turns on it. Not FOR UPDATE, which would also wait for
   * (and hold up) every row that merely references the customer (keys, grants, leases).
   */
  async lockCustomer(manager: EntityManager, customerId: string): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `SELECT 1 FROM ${tables.customers} WHERE "id" = $1 FOR NO KEY UPDATE`,
      [customerId],
    );
    return rows.length > 0;
  },

  /**
   * Whether the subscription has ended and its customer has another live one: bringing it back
   * would make two live (refused by the unique index).
   */
  async supersededBy(manager: EntityManager, id: string): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `SELECT 1 FROM ${tables.subscriptions} s
       JOIN ${tables.subscriptions} o ON o."customer_id" = s."customer_id" AND o."id" <> s."id"
       WHERE s."id" = $1 AND ${ENDED_SQL('s.')} AND NOT (${ENDED_SQL('o.')}) LIMIT 1`,
      [id],
    );
    return rows.length > 0;
  },

  /** Cancels the customer's live subscription, if they have one. */
  async cancelLive(manager: EntityManager, customerId: string, now: Date): Promise<void> {
    await manager.query(
      `UPDATE ${tables.subscriptions} SET "status" = 'canceled', "updated_at" = $2
       WHERE "customer_id" = $1 AND NOT (${ENDED_SQL('')})`,
      [customerId, now],
    );
  },

  /** Cancels the subscription, if its period still ends at `periodEnd` (nobody rolled it). */
  async cancelAtEnd(manager: EntityManager, id: string, periodEnd: Date, now: Date): Promise<void> {
    await manager.query(
      `UPDATE ${tables.subscriptions} SET "status" = 'canceled', "updated_at" = $3
       WHERE "id" = $1 AND "current_period_end" = $2`,
      [id, periodEnd, now],
    );
  },

  /**
   * Moves the subscription to `period`, if its period still ends at `periodEnd` (nobody rolled
   * it): a scheduled plan change takes effect, a trial becomes active.
   */
  async roll(
    manager: EntityManager,
    id: string,
    periodEnd: Date,
    period: { start: Date; end: Date },
    now: Date,
  ): Promise<void> {
    await manager.query(
      `UPDATE ${tables.subscriptions}
       SET "current_period_start" = $3, "current_period_end" = $4,
           "plan_id" = COALESCE("pending_plan_id", "plan_id"), "pending_plan_id" = NULL,
           "status" = CASE WHEN "status" = 'trialing' THEN 'active' ELSE "status" END,
           "updated_at" = $5
       WHERE "id" = $1 AND "current_period_end" = $2`,
      [id, periodEnd, period.start, period.end, now],
    );
  },

  /**
   * Locks the subscription's row for the rest of the transaction: its status and the order of
   * the newest provider event of this kind applied to it, if the subscription exists.
   */
  async lockProviderOrder(
    manager: EntityManager,
    id: string,
    column: ProviderOrderColumn,
  ): Promise<{ status: SubscriptionStatus; last: number[] | null } | undefined> {
    const [row]: { status: SubscriptionStatus; last: string[] | null }[] = await manager.query(
      `SELECT "status", "${column}"::text[] AS "last" FROM ${tables.subscriptions}
       WHERE "id" = $1 FOR UPDATE`,
      [id],
    );
    return row && { status: row.status, last: row.last && row.last.map(Number) };
  },

  async setProviderOrder(
    manager: EntityManager,
    id: string,
    column: ProviderOrderColumn,
    order: number[],
  ): Promise<void> {
    await manager.query(
      `UPDATE ${tables.subscriptions} SET "${column}" = $2::bigint[] WHERE "id" = $1`,
      [id, order],
    );
  },

  /** Records the Stripe customer of the subscription's customer, unless one is known already. */
  async learnStripeCustomer(
    manager: EntityManager,
    id: string,
    stripeCustomerId: string,
  ): Promise<void> {
    await manager.query(
      `UPDATE ${tables.customers} SET "stripe_customer_id" = $1
       WHERE "id" = (SELECT "customer_id" FROM ${tables.subscriptions} WHERE "id" = $2)
         AND "stripe_customer_id" IS NULL`,
      [stripeCustomerId, id],
    );
  },
};
