import { schemaTables } from '@paygate/database';

/** The metering service's one schema: every table it owns lives here, and only it reads them. */
export const METERING_SCHEMA = 'metering';

/** Its tables, qualified from the constant above (repositories interpolate these into SQL). */
export const tables = schemaTables(METERING_SCHEMA, [
  'dead_letters',
  'events',
  'held_events',
  'idempotency_keys',
  'known_customers',
  'meter_versions',
  'meters',
  'outbox',
  'rollups',
  'unique_values',
  'unmatched_events',
  'unmatched_progress',
  'webhook_deliveries',
]);
