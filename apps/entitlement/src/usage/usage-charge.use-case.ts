import { Inject, Injectable, Logger } from '@nestjs/common';
import type { UsageRecordedEvent } from '@paygate/contracts';
import { toSafeInt } from '@paygate/database';
import { DataSource, EntityManager } from 'typeorm';
import { GrantsService } from '../credits/grants.service';
import { LedgerService } from '../credits/ledger.service';
import { FeatureUsageService } from '../decisions/feature-usage.service';
import { LeaseSettlementService } from '../decisions/lease-settlement.service';
import { usageWindow } from '../decisions/usage-window';
import type { UsagePeriod } from '../plans/plan-feature.entity';
import { Clock } from '@paygate/clock';
import { SubscriptionLifecycleService } from '../subscriptions/subscription-lifecycle.service';

interface MeteredFeatureRow {
  feature_key: string;
  usage_period: UsagePeriod;
  included_units: string;
  limit_policy: 'block' | 'credits' | 'overage';
  unit_price: string;
}

export type ChargeOutcome = 'applied' | 'duplicate' | 'unbillable';

/**
 * Turns recorded usage into balance changes, exactly once per message id. Units admitted from
 * a lease were paid for when it was reserved, so they only settle it; other units (usage that
 * services reported without a lease) are counted against included units and then drawn from
 * credits. Those may take the balance below zero: the usage already happened, and the next
 * check refuses until the customer tops up.
 */
@Injectable()
export class UsageChargeUseCase {
  private readonly logger = new Logger(UsageChargeUseCase.name);

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly usage: FeatureUsageService,
    private readonly leases: LeaseSettlementService,
    private readonly subscriptions: SubscriptionLifecycleService,
    @Inject(Clock) private readonly clock: Clock,
    private readonly grants: GrantsService,
  ) {}

  execute(event: UsageRecordedEvent): Promise<ChargeOutcome> {
    return this.dataSource.transaction(async (manager) => {
      const claimed: unknown[] = await manager.query(
        `INSERT INTO "entitlement"."processed_messages" ("id") VALUES ($1) ON CONFLICT DO NOTHING RETURNING "id"`,
        [`usage-recorded:${event.id}`],
      );
      if (claimed.length === 0) return 'duplicate';
      let covered = 0;
      for (const leased of event.leased) {
        covered += await this.leases.settle(manager, leased.leaseId, leased.quantity);
      }
      const unleased = event.quantity - covered;
      if (unleased <= 0) return 'applied';
      return this.charge(manager, event, unleased);
    });
  }

  private async charge(
    manager: EntityManager,
    event: UsageRecordedEvent,
    units: number,
  ): Promise<ChargeOutcome> {
    const subscription = await this.subscriptions.current(event.customerId, manager);
    const [feature]: MeteredFeatureRow[] = subscription
      ? await manager.query(
          `SELECT "feature_key", "included_units", "limit_policy", "unit_price", "usage_period" FROM "entitlement"."plan_features"
           WHERE "plan_id" = $1 AND "meter_key" = $2 AND "kind" = 'metered' ORDER BY "feature_key" LIMIT 1`,
          [subscription.planId, event.meterKey],
        )
      : [];
    if (!subscription || !feature) {
      this.logger.warn(
        { customerId: event.customerId, meterKey: event.meterKey },
        'usage for no metered feature',
      );
      return 'unbillable';
    }
    const window = usageWindow(feature.usage_period, subscription, this.clock.now());
    const used = await this.usage.lock(manager, subscription.id, feature.feature_key, window.start);
    const fromIncluded = Math.min(units, Math.max(0, toSafeInt(feature.included_units) - used));
    const beyond = units - fromIncluded;
    if (beyond > 0 && feature.limit_policy === 'credits') {
      const credits = beyond * toSafeInt(feature.unit_price);
      if (credits > 0) {
        await this.grants.settleDue(manager, event.customerId);
        await this.grants.burn(manager, event.customerId, credits);
        await this.ledger.append(manager, {
          customerId: event.customerId,
          type: 'debit',
          amount: -credits,
          idempotencyKey: `usage-recorded:${event.id}:debit`,
          description: `${beyond} ${event.meterKey} units`,
        });
      }
    }
    await this.usage.add(manager, subscription.id, feature.feature_key, window.start, units);
    return 'applied';
  }
}
