import { FixedClock } from '@paygate/clock';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ApiKeysService } from './api-keys/api-keys.service';
import { CreditsService } from './credits/credits.service';
import { LedgerService } from './credits/ledger.service';
import { CustomersService } from './customers/customers.service';
import { entitlementDataSource } from './database/entitlement.data-source';
import { CheckUseCase } from './decisions/check.use-case';
import { FeatureUsageService } from './decisions/feature-usage.service';
import { LeaseSettlementService } from './decisions/lease-settlement.service';
import type { PlanFeatureDto } from './plans/plan.dto';
import { PlansService } from './plans/plans.service';
import type { SubscriptionStatus } from './subscriptions/subscription.entity';
import { SubscriptionLifecycleService } from './subscriptions/subscription-lifecycle.service';
import { SubscriptionsService } from './subscriptions/subscriptions.service';
import { UsageChargeUseCase } from './usage/usage-charge.use-case';

/**
 * The entitlement services wired by hand against the real test database (migrated by the
 * global setup), and a helper that seeds a tenant the way an operator would.
 */
export class EntitlementFixture {
  readonly customers: CustomersService;
  readonly plans: PlansService;
  readonly subscriptions: SubscriptionsService;
  readonly ledger: LedgerService;
  readonly credits: CreditsService;
  readonly apiKeys: ApiKeysService;
  readonly usage = new FeatureUsageService();
  readonly settlement: LeaseSettlementService;
  readonly lifecycle: SubscriptionLifecycleService;
  /** Starts at the real time; tests move it to cross period ends and grace periods. */
  readonly clock = new FixedClock(new Date());
  readonly check: CheckUseCase;
  readonly charge: UsageChargeUseCase;

  private constructor(readonly dataSource: DataSource) {
    this.customers = new CustomersService(dataSource);
    this.plans = new PlansService(dataSource);
    this.subscriptions = new SubscriptionsService(
      dataSource,
      this.customers,
      this.plans,
      this.clock,
    );
    this.lifecycle = new SubscriptionLifecycleService(dataSource, this.clock);
    this.ledger = new LedgerService(dataSource);
    this.credits = new CreditsService(dataSource, this.ledger, this.customers);
    this.apiKeys = new ApiKeysService(dataSource, this.customers);
    this.settlement = new LeaseSettlementService(this.ledger, this.usage);
    this.check = new CheckUseCase(dataSource, this.ledger, this.usage, this.lifecycle, this.clock);
    this.charge = new UsageChargeUseCase(
      dataSource,
      this.ledger,
      this.usage,
      this.settlement,
      this.lifecycle,
    );
  }

  static async open(poolSize = 20): Promise<EntitlementFixture> {
    const dataSource = await entitlementDataSource(testConfig().databaseUrl, poolSize).initialize();
    return new EntitlementFixture(dataSource);
  }

  close(): Promise<void> {
    return this.dataSource.destroy();
  }

  async seedTenant(options: {
    credits?: number;
    feature?: Partial<PlanFeatureDto>;
    status?: SubscriptionStatus;
    scopes?: string[];
    gracePeriodSeconds?: number;
  }): Promise<{
    customerId: string;
    apiKey: string;
    apiKeyId: string;
    subscriptionId: string;
    planKey: string;
  }> {
    const planKey = `plan-${randomUUID().slice(0, 8)}`;
    const plan = await this.plans.create({
      key: planKey,
      name: 'Test plan',
      features: [
        {
          key: 'requests',
          kind: 'metered',
          meterKey: 'api_requests',
          includedUnits: 0,
          limitPolicy: 'credits',
          unitPrice: 1,
          ...options.feature,
        },
        { key: 'export', kind: 'boolean' },
      ],
    });
    const customer = await this.customers.create({ name: 'Test customer' });
    const subscription = await this.subscriptions.create(customer.id, {
      planId: plan.id,
      status: options.status ?? 'active',
      gracePeriodSeconds: options.gracePeriodSeconds,
    });
    if (options.credits) await this.credits.grant(customer.id, { amount: options.credits });
    const key = await this.apiKeys.create(customer.id, { scopes: options.scopes });
    return {
      customerId: customer.id,
      apiKey: key.key,
      apiKeyId: key.id,
      subscriptionId: subscription.id,
      planKey,
    };
  }

  checkInput(apiKey: string, cost = 1, feature = 'requests') {
    return { apiKey, feature, cost, requestId: randomUUID(), requiredScopes: [] as string[] };
  }
}
