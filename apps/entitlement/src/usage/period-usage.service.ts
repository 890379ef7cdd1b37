import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { toSafeInt } from '@paygate/database';
import { DataSource } from 'typeorm';
import { CustomersService } from '../customers/customers.service';
import { usageWindow } from '../decisions/usage-window';
import type { LimitPolicy, UsagePeriod } from '../plans/plan-feature.entity';
import { SubscriptionLifecycleService } from '../subscriptions/subscription-lifecycle.service';

export interface FeatureUsageView {
  feature: string;
  meterKey: string | null;
  usagePeriod: UsagePeriod;
  limitPolicy: LimitPolicy;
  included: number;
  used: number;
  windowStart: string;
  /** When the included units start again; null if they never do. */
  resetsAt: string | null;
}

/** What each metered feature of the current subscription has used in its current window. */
@Injectable()
export class PeriodUsageService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly customers: CustomersService,
    private readonly subscriptions: SubscriptionLifecycleService,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async current(
    customerId: string,
  ): Promise<{ plan: string | null; features: FeatureUsageView[] }> {
    await this.customers.get(customerId);
    const subscription = await this.subscriptions.current(customerId);
    if (!subscription) return { plan: null, features: [] };
    const features: {
      feature_key: string;
      meter_key: string | null;
      usage_period: UsagePeriod;
      limit_policy: LimitPolicy;
      included_units: string;
    }[] = await this.dataSource.query(
      `SELECT "feature_key", "meter_key", "usage_period", "limit_policy", "included_units"
       FROM "entitlement"."plan_features" WHERE "plan_id" = $1 AND "kind" = 'metered' ORDER BY "feature_key"`,
      [subscription.planId],
    );
    const now = this.clock.now();
    const views: FeatureUsageView[] = [];
    for (const f of features) {
      const window = usageWindow(f.usage_period, subscription, now);
      const [row]: { used: string }[] = await this.dataSource.query(
        `SELECT "used" FROM "entitlement"."feature_usage"
         WHERE "subscription_id" = $1 AND "feature_key" = $2 AND "period_start" = $3`,
        [subscription.id, f.feature_key, window.start],
      );
      views.push({
        feature: f.feature_key,
        meterKey: f.meter_key,
        usagePeriod: f.usage_period,
        limitPolicy: f.limit_policy,
        included: toSafeInt(f.included_units),
        used: toSafeInt(row?.used ?? 0),
        windowStart: window.start.toISOString(),
        resetsAt: window.end ? window.end.toISOString() : null,
      });
    }
    return { plan: subscription.planKey, features: views };
  }
}
