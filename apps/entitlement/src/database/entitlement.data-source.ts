import { createServiceDataSource } from '@paygate/database';
import type { DataSource } from 'typeorm';
import { AnnounceCustomers1764200000000 } from './migrations/1764200000000-announce-customers';
import { ApiKey } from '../api-keys/api-key.entity';
import { Customer } from '../customers/customer.entity';
import { Plan, PlanFeature } from '../plans/plan.entity';
import { Subscription } from '../subscriptions/subscription.entity';
import { InitialSchema1764000000000 } from './migrations/1764000000000-initial-schema';
import { SubscriptionLifecycle1764100000000 } from './migrations/1764100000000-subscription-lifecycle';
import { FeatureUsagePeriods1764100000002 } from './migrations/1764100000002-feature-usage-periods';
import { CreditGrants1764100000003 } from './migrations/1764100000003-credit-grants';
import { IdempotencyKeys1764100000004 } from './migrations/1764100000004-idempotency-keys';
import { WebhookDeliveries1764100000005 } from './migrations/1764100000005-webhook-deliveries';
import { MultiUnitLeases1764300000000 } from './migrations/1764300000000-multi-unit-leases';
import { SubscriptionIncomplete1764300000001 } from './migrations/1764300000001-subscription-incomplete';
import { CustomerBlocked1764300000002 } from './migrations/1764300000002-customer-blocked';
import { StripeCustomer1764300000003 } from './migrations/1764300000003-stripe-customer';
import { LeaseClosedByGateway1764400000000 } from './migrations/1764400000000-lease-closed-by-gateway';
import { OutboxParking1764400000001 } from './migrations/1764400000001-outbox-parking';
import { RedactReplayedApiKeys1764500000015 } from './migrations/1764500000015-redact-replayed-api-keys';
import { DirectPayments1764500000016 } from './migrations/1764500000016-direct-payments';
import { PayerAccounts1764500000017 } from './migrations/1764500000017-payer-accounts';
import { ProviderEventOrder1764500000018 } from './migrations/1764500000018-provider-event-order';
import { UptoAuthorizations1764500000019 } from './migrations/1764500000019-upto-authorizations';
import { SettlementJournal1764500000020 } from './migrations/1764500000020-settlement-journal';
import { RateWindows1764500000021 } from './migrations/1764500000021-rate-windows';
import { ConcurrencyHolds1764500000022 } from './migrations/1764500000022-concurrency-holds';
import { OutboxNotify1764500000023 } from './migrations/1764500000023-outbox-notify';
import { ProcessedMessagesPruning1764500000024 } from './migrations/1764500000024-processed-messages-pruning';
import { LeasePayers1764500000025 } from './migrations/1764500000025-lease-payers';
import { IdempotencyKeysPruning1764500000026 } from './migrations/1764500000026-idempotency-keys-pruning';
import { OneLiveSubscription1764500000027 } from './migrations/1764500000027-one-live-subscription';

import { ENTITLEMENT_SCHEMA } from './schema';

export { ENTITLEMENT_SCHEMA };

export function entitlementDataSource(
  url: string,
  poolSize?: number,
  statementTimeoutMs?: number,
): DataSource {
  return createServiceDataSource({
    url,
    schema: ENTITLEMENT_SCHEMA,
    applicationName: 'paygate-entitlement',
    poolSize,
    statementTimeoutMs,
    entities: [Customer, ApiKey, Plan, PlanFeature, Subscription],
    migrations: [
      InitialSchema1764000000000,
      SubscriptionLifecycle1764100000000,
      FeatureUsagePeriods1764100000002,
      CreditGrants1764100000003,
      IdempotencyKeys1764100000004,
      WebhookDeliveries1764100000005,
      AnnounceCustomers1764200000000,
      MultiUnitLeases1764300000000,
      SubscriptionIncomplete1764300000001,
      CustomerBlocked1764300000002,
      StripeCustomer1764300000003,
      LeaseClosedByGateway1764400000000,
      OutboxParking1764400000001,
      RedactReplayedApiKeys1764500000015,
      DirectPayments1764500000016,
      PayerAccounts1764500000017,
      ProviderEventOrder1764500000018,
      UptoAuthorizations1764500000019,
      SettlementJournal1764500000020,
      RateWindows1764500000021,
      ConcurrencyHolds1764500000022,
      OutboxNotify1764500000023,
      ProcessedMessagesPruning1764500000024,
      LeasePayers1764500000025,
      IdempotencyKeysPruning1764500000026,
      OneLiveSubscription1764500000027,
    ],
  });
}
