import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { DataSource, EntityManager } from 'typeorm';
import { BillingInterval, periodContaining } from './billing-period';
import type { SubscriptionStatus } from './subscription.entity';

export interface CurrentSubscription {
  id: string;
  status: SubscriptionStatus;
  planId: string;
  planKey: string;
  periodStart: Date;
  periodEnd: Date;
  billingAnchor: Date;
  pastDueSince: Date | null;
  gracePeriodSeconds: number;
}

interface Row {
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

/** Statuses whose period keeps rolling; the others have ended or wait for an operator. */
const ROLLING: SubscriptionStatus[] = ['trialing', 'active', 'incomplete', 'past_due'];

/**
 * A customer's current subscription, with its period brought up to date first. The roll is
 * lazy (done by whoever reads the subscription after its period ended) and conditional on the
 * period it saw, so concurrent readers roll it once: the included units of the new period
 * start at zero because usage is counted per period start. A scheduled cancel ends the
 * subscription instead; a scheduled plan change takes effect; a trial becomes active.
 */
@Injectable()
export class SubscriptionLifecycleService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async current(
    customerId: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<CurrentSubscription | undefined> {
    const now = this.clock.now();
    let row = await this.latest(manager, customerId);
    if (row && ROLLING.includes(row.status) && row.current_period_end <= now) {
      await this.roll(manager, row, now);
      row = await this.latest(manager, customerId);
    }
    if (!row) return undefined;
    return {
      id: row.id,
      status: row.status,
      planId: row.plan_id,
      planKey: row.plan_key,
      periodStart: row.current_period_start,
      periodEnd: row.current_period_end,
      billingAnchor: row.billing_anchor,
      pastDueSince: row.past_due_since,
      gracePeriodSeconds: row.grace_period_seconds,
    };
  }

  private async roll(manager: EntityManager, row: Row, now: Date): Promise<void> {
    if (row.cancel_at_period_end) {
      await manager.query(
        `UPDATE "entitlement"."subscriptions" SET "status" = 'canceled', "updated_at" = $3
         WHERE "id" = $1 AND "current_period_end" = $2`,
        [row.id, row.current_period_end, now],
      );
      return;
    }
    const period = periodContaining(row.billing_anchor, row.billing_interval, now);
    await manager.query(
      `UPDATE "entitlement"."subscriptions"
       SET "current_period_start" = $3, "current_period_end" = $4,
           "plan_id" = COALESCE("pending_plan_id", "plan_id"), "pending_plan_id" = NULL,
           "status" = CASE WHEN "status" = 'trialing' THEN 'active' ELSE "status" END,
           "updated_at" = $5
       WHERE "id" = $1 AND "current_period_end" = $2`,
      [row.id, row.current_period_end, period.start, period.end, now],
    );
  }

  private async latest(manager: EntityManager, customerId: string): Promise<Row | undefined> {
    const [row]: Row[] = await manager.query(
      `SELECT s."id", s."status", s."plan_id", p."key" AS "plan_key", s."current_period_start",
              s."current_period_end", s."billing_interval", s."billing_anchor", s."cancel_at_period_end",
              s."past_due_since", s."grace_period_seconds"
       FROM "entitlement"."subscriptions" s JOIN "entitlement"."plans" p ON p."id" = s."plan_id"
       WHERE s."customer_id" = $1 ORDER BY s."created_at" DESC, s."id" LIMIT 1`,
      [customerId],
    );
    return row;
  }
}
