import { schemaTables } from '@paygate/database';

/** The entitlement service's one schema: every table it owns lives here, and only it reads them. */
export const ENTITLEMENT_SCHEMA = 'entitlement';

/** Its tables, qualified from the constant above (repositories interpolate these into SQL). */
export const tables = schemaTables(ENTITLEMENT_SCHEMA, [
  'api_keys',
  'balances',
  'concurrency_holds',
  'customers',
  'direct_payments',
  'feature_usage',
  'grants',
  'idempotency_keys',
  'lease_grant_allocations',
  'leases',
  'ledger_entries',
  'outbox',
  'payer_accounts',
  'plan_features',
  'plans',
  'processed_messages',
  'rate_windows',
  'subscriptions',
  'webhook_deliveries',
]);
