import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { DataSource, EntityManager } from 'typeorm';
import { periodAfter } from './billing-period';
import type { SubscriptionStatus } from './subscription.entity';
import { type SubscriptionRow, subscriptions } from './subscriptions.repository';

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

/** Statuses whose period keeps rolling; the others have ended or wait for an operator. */
const ROLLING: SubscriptionStatus[] = ['trialing', 'active', 'incomplete', 'past_due'];

function currentOf(row: SubscriptionRow): CurrentSubscription {
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
    const latest = await subscriptions.latest(manager, customerId);
    return (await this.upToDate(customerId, latest, manager)).subscription;
  }

  /**
   * The current subscription from its latest row, read already (see decisionReads): rolled
   * first when its period has ended. `rolled` says the row was read again after a roll, so
   * whatever was read along with it (its plan's terms) may be stale.
   */
  async upToDate(
    customerId: string,
    latest: SubscriptionRow | undefined,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<{ subscription: CurrentSubscription | undefined; rolled: boolean }> {
    const now = this.clock.now();
    let row = latest;
    const due = row !== undefined && ROLLING.includes(row.status) && row.current_period_end <= now;
    if (row && due) {
      await this.roll(manager, row, now);
      row = await subscriptions.latest(manager, customerId);
    }
    return { subscription: row && currentOf(row), rolled: due };
  }

  private async roll(manager: EntityManager, row: SubscriptionRow, now: Date): Promise<void> {
    if (row.cancel_at_period_end) {
      await subscriptions.cancelAtEnd(manager, row.id, row.current_period_end, now);
      return;
    }
    const period = periodAfter(
      row.billing_anchor,
      row.billing_interval,
      row.current_period_end,
      now,
    );
    await subscriptions.roll(manager, row.id, row.current_period_end, period, now);
  }
}
