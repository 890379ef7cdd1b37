import { createServiceDataSource } from '@paygate/database';
import type { DataSource } from 'typeorm';
import { InitialSchema1764000000001 } from './migrations/1764000000001-initial-schema';
import { DeadLetterIdentity1764100000001 } from './migrations/1764100000001-dead-letter-identity';
import { MetersGroupsWindows1764200000001 } from './migrations/1764200000001-meters-groups-windows';
import { UnknownCustomers1764200000002 } from './migrations/1764200000002-unknown-customers';
import { UnmatchedAndCutLetters1764300000001 } from './migrations/1764300000001-unmatched-and-cut-letters';
import { WebhookDeliveries1764300000002 } from './migrations/1764300000002-webhook-deliveries';
import { RollupSumsNumeric1764400000001 } from './migrations/1764400000001-rollup-sums-numeric';
import { OutboxParking1764400000002 } from './migrations/1764400000002-outbox-parking';
import { OutboxNotify1764500000001 } from './migrations/1764500000001-outbox-notify';
import { UnmatchedEventsPruning1764500000002 } from './migrations/1764500000002-unmatched-events-pruning';
import { CanonicalHeldSubjects1764500000003 } from './migrations/1764500000003-canonical-held-subjects';

import { METERING_SCHEMA } from './schema';

export { METERING_SCHEMA };

/** Metering's hot path is set-based SQL, so it maps no entities. */
export function meteringDataSource(
  url: string,
  poolSize?: number,
  statementTimeoutMs?: number,
): DataSource {
  return createServiceDataSource({
    url,
    schema: METERING_SCHEMA,
    applicationName: 'paygate-metering',
    poolSize,
    statementTimeoutMs,
    entities: [],
    migrations: [
      InitialSchema1764000000001,
      DeadLetterIdentity1764100000001,
      MetersGroupsWindows1764200000001,
      UnknownCustomers1764200000002,
      UnmatchedAndCutLetters1764300000001,
      WebhookDeliveries1764300000002,
      RollupSumsNumeric1764400000001,
      OutboxParking1764400000002,
      OutboxNotify1764500000001,
      UnmatchedEventsPruning1764500000002,
      CanonicalHeldSubjects1764500000003,
    ],
  });
}
