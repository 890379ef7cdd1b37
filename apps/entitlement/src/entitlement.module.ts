import { DynamicModule, Module } from '@nestjs/common';
import Stripe from 'stripe';
import { consumerReadiness } from '@paygate/messaging';
import { HealthController, MetricsController, loggerModule } from '@paygate/observability';
import { DataSource } from 'typeorm';
import { ApiKeysController } from './api-keys/api-keys.controller';
import { ApiKeysService } from './api-keys/api-keys.service';
import { Clock, SystemClock } from '@paygate/clock';
import { PgIdempotencyStore, databaseProviders, outboxRelayProvider } from '@paygate/database';
import {
  ADMIN_TOKEN,
  AdminTokenGuard,
  IDEMPOTENCY_STORE,
  IdempotencyInterceptor,
} from '@paygate/http';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { EntitlementConfig } from './config/entitlement.config';
import { AlertDispatcher, ConsumerStallAlerts } from '@paygate/alerts';
import { AlertSettings } from './alerts/alert-settings';
import { AlertsService } from './alerts/alerts.service';
import { ENTITLEMENT_TOPICS, EntitlementChanges } from './changes/entitlement-changes';
import { CreditsController } from './credits/credits.controller';
import { CreditsService } from './credits/credits.service';
import { GrantSweeper } from './credits/grant-sweeper';
import { LeaseExpiry } from './leases/lease-expiry';
import { ProcessedMessagesPruner } from './payments/processed-messages-pruner';
import { GrantsService } from './credits/grants.service';
import { LedgerService } from './credits/ledger.service';
import { ConcurrencyGrpcController } from './concurrency/concurrency.grpc.controller';
import { ConcurrencyHoldPruner } from './concurrency/concurrency-hold-pruner';
import { HoldConcurrencyUseCase } from './concurrency/hold-concurrency.use-case';
import { CustomersController } from './customers/customers.controller';
import { CustomersService } from './customers/customers.service';
import { ENTITLEMENT_SCHEMA, entitlementDataSource } from './database/entitlement.data-source';
import { IdempotencyKeysPruner } from './database/idempotency-keys-pruner';
import { CheckUseCase } from './decisions/check.use-case';
import { EntitlementGrpcController } from './decisions/entitlement.grpc.controller';
import { FeatureUsageService } from './decisions/feature-usage.service';
import { GRPC_TOKENS } from './grpc/grpc-token.guard';
import { LeaseSettlementService } from './leases/lease-settlement.service';
import { PaymentSettlementsUseCase } from './direct-payments/payment-settlements.use-case';
import { RecordPaymentUseCase } from './direct-payments/record-payment.use-case';
import { PaymentEventsUseCase } from './payments/payment-events.use-case';
import { StripeWebhookController } from './payments/stripe-webhook.controller';
import { PlansController } from './plans/plans.controller';
import { PlansService } from './plans/plans.service';
import { RateWindowPruner } from './rate-windows/rate-window-pruner';
import { RateWindowsGrpcController } from './rate-windows/rate-windows.grpc.controller';
import { TakeRateWindowUseCase } from './rate-windows/take-rate-window.use-case';
import { SubscriptionsController } from './subscriptions/subscriptions.controller';
import { SubscriptionLifecycleService } from './subscriptions/subscription-lifecycle.service';
import { SubscriptionsService } from './subscriptions/subscriptions.service';
import { BillingController } from './billing/billing.controller';
import { BillingLinks } from './billing/billing-links';
import { DemoPaymentProvider } from './billing/demo-payment.provider';
import { PAYMENT_PROVIDER, PaymentProvider } from './billing/payment-provider';
import { StripeCheckoutProvider } from './billing/stripe-checkout.provider';
import { PeriodUsageController } from './usage/period-usage.controller';
import { PeriodUsageService } from './usage/period-usage.service';
import { UsageChargeUseCase } from './usage/usage-charge.use-case';
import { UsageRecordedConsumer } from './usage/usage-recorded.consumer';

/** The billing page's payment adapter, as configured (none: the page only informs). */
function paymentProvider(
  config: EntitlementConfig,
  demo: DemoPaymentProvider,
): PaymentProvider | null {
  switch (config.BILLING_PAYMENT_PROVIDER) {
    case 'demo':
      return demo;
    case 'stripe':
      return new StripeCheckoutProvider(new Stripe(config.STRIPE_SECRET_KEY ?? ''), {
        currency: config.BILLING_CURRENCY,
        unitAmountCents: config.BILLING_CREDIT_PRICE_CENTS,
      });
    default:
      return null;
  }
}

@Module({})
export class EntitlementModule {
  static forRoot(config: EntitlementConfig): DynamicModule {
    return {
      module: EntitlementModule,
      imports: [
        loggerModule('entitlement', config.LOG_LEVEL, { bufferBytes: config.LOG_BUFFER_BYTES }),
      ],
      controllers: [
        CustomersController,
        ApiKeysController,
        PlansController,
        SubscriptionsController,
        CreditsController,
        EntitlementGrpcController,
        RateWindowsGrpcController,
        ConcurrencyGrpcController,
        StripeWebhookController,
        PeriodUsageController,
        BillingController,
        HealthController,
        MetricsController,
      ],
      providers: [
        { provide: EntitlementConfig, useValue: config },
        { provide: ADMIN_TOKEN, useValue: config.ADMIN_TOKEN },
        // GrpcTokenGuard's: the gRPC controllers' guard takes only this, not the whole config.
        { provide: GRPC_TOKENS, useValue: config.GRPC_TOKENS },
        { provide: Clock, useClass: SystemClock },
        { provide: ENTITLEMENT_TOPICS, useValue: config.topics },
        ...databaseProviders(
          () =>
            entitlementDataSource(
              config.DATABASE_URL,
              config.DATABASE_POOL_SIZE,
              config.DATABASE_QUERY_TIMEOUT_MS,
            ),
          {
            inject: [UsageRecordedConsumer],
            outbox: { schema: ENTITLEMENT_SCHEMA, maxAgeSeconds: config.CONSUMER_STALL_SECONDS },
            checks: (usage: UsageRecordedConsumer) => [
              consumerReadiness('usage-recorded-consumer', () => usage.progress()),
            ],
          },
        ),
        outboxRelayProvider(ENTITLEMENT_SCHEMA, 'paygate-entitlement-outbox', config.KAFKA_BROKERS),
        {
          provide: PgIdempotencyStore,
          inject: [DataSource],
          useFactory: (dataSource: DataSource) =>
            new PgIdempotencyStore(dataSource, ENTITLEMENT_SCHEMA),
        },
        // The interceptor's store, and the one IdempotencyKeysPruner prunes.
        { provide: IDEMPOTENCY_STORE, useExisting: PgIdempotencyStore },
        IdempotencyKeysPruner,
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
        {
          provide: AlertSettings,
          useValue: new AlertSettings(
            config.ALERT_WEBHOOK_URL,
            config.ALERT_WEBHOOK_SECRET ?? '',
            config.ALERT_USAGE_PERCENTS,
            config.ALERT_LOW_BALANCE,
          ),
        },
        AlertsService,
        {
          provide: AlertDispatcher,
          inject: [DataSource, AlertSettings],
          useFactory: (dataSource: DataSource, settings: AlertSettings) =>
            new AlertDispatcher(dataSource, settings, ENTITLEMENT_SCHEMA),
        },
        {
          provide: ConsumerStallAlerts,
          inject: [DataSource, AlertSettings, UsageRecordedConsumer],
          useFactory: (
            dataSource: DataSource,
            settings: AlertSettings,
            usage: UsageRecordedConsumer,
          ) =>
            new ConsumerStallAlerts(dataSource, ENTITLEMENT_SCHEMA, settings, [
              {
                who: {
                  service: 'entitlement',
                  consumer: 'usage-recorded-consumer',
                  group: config.usageRecordedGroup,
                  topic: config.topics.usageRecorded,
                },
                progress: () => usage.progress(),
              },
            ]),
        },
        AdminTokenGuard,
        EntitlementChanges,
        CustomersService,
        ApiKeysService,
        PlansService,
        SubscriptionsService,
        SubscriptionLifecycleService,
        LedgerService,
        GrantsService,
        GrantSweeper,
        LeaseExpiry,
        ProcessedMessagesPruner,
        CreditsService,
        FeatureUsageService,
        LeaseSettlementService,
        CheckUseCase,
        UsageChargeUseCase,
        UsageRecordedConsumer,
        PaymentEventsUseCase,
        RecordPaymentUseCase,
        PaymentSettlementsUseCase,
        TakeRateWindowUseCase,
        RateWindowPruner,
        HoldConcurrencyUseCase,
        ConcurrencyHoldPruner,
        PeriodUsageService,
        BillingLinks,
        DemoPaymentProvider,
        {
          provide: PAYMENT_PROVIDER,
          inject: [DemoPaymentProvider],
          useFactory: (demo: DemoPaymentProvider): PaymentProvider | null =>
            paymentProvider(config, demo),
        },
      ],
    };
  }
}
