import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { toSafeInt } from '@paygate/database';
import { DataSource } from 'typeorm';
import { CustomersService } from '../customers/customers.service';
import { usageWindow } from '../decisions/usage-window';
import type { LimitPolicy, UsagePeriod } from '../plans/plan-terms';
import { plans } from '../plans/plans.repository';
import { SubscriptionLifecycleService } from '../subscriptions/subscription-lifecycle.service';
import { featureUsage } from './feature-usage.repository';

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
    const features = await plans.meteredFeatures(this.dataSource.manager, subscription.planId);
    const now = this.clock.now();
    const views: FeatureUsageView[] = [];
    for (const f of features) {
      const window = usageWindow(f.usage_period, subscription, now);
      const used = await featureUsage.used(this.dataSource.manager, {
        subscriptionId: subscription.id,
        feature: f.feature_key,
        periodStart: window.start,
      });
      views.push({
        feature: f.feature_key,
        meterKey: f.meter_key,
        usagePeriod: f.usage_period,
        limitPolicy: f.limit_policy,
        included: toSafeInt(f.included_units),
        used,
        windowStart: window.start.toISOString(),
        resetsAt: window.end ? window.end.toISOString() : null,
      });
    }
    return { plan: subscription.planKey, features: views };
  }
}
