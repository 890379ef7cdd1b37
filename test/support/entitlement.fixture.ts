import { FixedClock } from '@paygate/clock';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { entitlementDataSource } from '../../apps/entitlement/src/database/entitlement.data-source';
import { EntitlementGrpcController } from '../../apps/entitlement/src/decisions/entitlement.grpc.controller';
import {
  EntitlementServices,
  createEntitlementServices,
} from '../../apps/entitlement/src/entitlement.services';
import { requestsFeature } from '../../apps/entitlement/src/plans/demo-plan';
import type { PlanFeatureDto } from '../../apps/entitlement/src/plans/plan.dto';
import type { SubscriptionStatus } from '../../apps/entitlement/src/subscriptions/subscription.entity';

/**
 * The entitlement services against the real test database (migrated by the global setup),
 * on a clock that tests move, and a helper that seeds a tenant the way an operator would.
 */
export class EntitlementFixture {
  /** Starts at the real time; tests move it to cross period ends and grace periods. */
  readonly clock = new FixedClock(new Date());
  readonly services: EntitlementServices;

  private constructor(readonly dataSource: DataSource) {
    // The run's topics: outbox rows a later stack relays never reach a deployment's topics.
    this.services = createEntitlementServices(
      dataSource,
      this.clock,
      undefined,
      testConfig().topics,
    );
  }

  static async open(poolSize = 20): Promise<EntitlementFixture> {
    const dataSource = await entitlementDataSource(testConfig().databaseUrl, poolSize).initialize();
    return new EntitlementFixture(dataSource);
  }

  get customers() {
    return this.services.customers;
  }
  get plans() {
    return this.services.plans;
  }
  get subscriptions() {
    return this.services.subscriptions;
  }
  get ledger() {
    return this.services.ledger;
  }
  get credits() {
    return this.services.credits;
  }
  get apiKeys() {
    return this.services.apiKeys;
  }
  get settlement() {
    return this.services.settlement;
  }
  get lifecycle() {
    return this.services.lifecycle;
  }
  get check() {
    return this.services.check;
  }
  get charge() {
    return this.services.charge;
  }
  /**
   * The gRPC edge with only what Release and CloseLeases use (the settlement and the data
   * source): a gateway's give-backs and closes, without a gRPC server.
   */
  leaseReleases(): EntitlementGrpcController {
    return new EntitlementGrpcController(
      undefined as never,
      this.settlement,
      this.dataSource,
      undefined as never,
      undefined as never,
      undefined as never,
    );
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
      features: [requestsFeature(options.feature), { key: 'export', kind: 'boolean' }],
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
