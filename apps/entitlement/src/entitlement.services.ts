import type { Clock } from '@paygate/clock';
import { TOPICS, type Topics } from '@paygate/contracts';
import { AlertSettings } from './alerts/alert-settings';
import { AlertsService } from './alerts/alerts.service';
import type { DataSource } from 'typeorm';
import { ApiKeysService } from './api-keys/api-keys.service';
import { EntitlementChanges } from './changes/entitlement-changes';
import { CreditsService } from './credits/credits.service';
import { GrantsService } from './credits/grants.service';
import { LedgerService } from './credits/ledger.service';
import { HoldConcurrencyUseCase } from './concurrency/hold-concurrency.use-case';
import { CustomersService } from './customers/customers.service';
import { CheckUseCase } from './decisions/check.use-case';
import { FeatureUsageService } from './decisions/feature-usage.service';
import { LeaseSettlementService } from './leases/lease-settlement.service';
import { PaymentSettlementsUseCase } from './direct-payments/payment-settlements.use-case';
import { RecordPaymentUseCase } from './direct-payments/record-payment.use-case';
import { PaymentEventsUseCase } from './payments/payment-events.use-case';
import { PlansService } from './plans/plans.service';
import { TakeRateWindowUseCase } from './rate-windows/take-rate-window.use-case';
import { SubscriptionLifecycleService } from './subscriptions/subscription-lifecycle.service';
import { SubscriptionsService } from './subscriptions/subscriptions.service';
import { PeriodUsageService } from './usage/period-usage.service';
import { UsageChargeUseCase } from './usage/usage-charge.use-case';

/**
 * The domain services wired without Nest, for tests and benchmarks that drive them directly
 * against a real database (the app itself is wired by EntitlementModule).
 */
export function createEntitlementServices(
  dataSource: DataSource,
  clock: Clock,
  alertSettings: AlertSettings = AlertSettings.disabled(),
  topics: Topics = TOPICS,
) {
  const alerts = new AlertsService(alertSettings);
  const changes = new EntitlementChanges(clock, topics);
  const customers = new CustomersService(dataSource, changes);
  const plans = new PlansService(dataSource);
  const ledger = new LedgerService(dataSource);
  const usage = new FeatureUsageService();
  const lifecycle = new SubscriptionLifecycleService(dataSource, clock);
  const grants = new GrantsService(ledger, changes, clock);
  const settlement = new LeaseSettlementService(ledger, usage, grants);
  const subscriptions = new SubscriptionsService(dataSource, plans, clock, changes);
  return {
    payments: new PaymentEventsUseCase(dataSource, subscriptions, grants),
    recordPayment: new RecordPaymentUseCase(dataSource, grants, ledger, clock, changes),
    paymentSettlements: new PaymentSettlementsUseCase(dataSource, grants, clock),
    takeRateWindow: new TakeRateWindowUseCase(dataSource),
    holdConcurrency: new HoldConcurrencyUseCase(dataSource, clock),
    periodUsage: new PeriodUsageService(dataSource, customers, lifecycle, clock),
    changes,
    customers,
    plans,
    ledger,
    grants,
    usage,
    lifecycle,
    settlement,
    subscriptions,
    credits: new CreditsService(dataSource, ledger, customers, grants, clock),
    apiKeys: new ApiKeysService(dataSource, customers, changes, clock),
    check: new CheckUseCase(dataSource, ledger, usage, lifecycle, clock, changes, grants, alerts),
    charge: new UsageChargeUseCase(
      dataSource,
      ledger,
      usage,
      settlement,
      lifecycle,
      clock,
      grants,
      alerts,
    ),
  };
}

export type EntitlementServices = ReturnType<typeof createEntitlementServices>;
