import type { UsageRecordedEvent } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';

/**
 * A usage.recorded message of the api_requests meter (the test plans' `requests` feature), as
 * metering sends it: `quantity` units, of which `leased` name the leases that admitted them.
 */
export const recordedUsage = (
  customerId: string,
  quantity: number,
  leased: { leaseId: string; quantity: number }[] = [],
): UsageRecordedEvent => ({
  id: randomUUID(),
  customerId,
  meterKey: 'api_requests',
  quantity,
  leased,
  firstEventAt: new Date().toISOString(),
  lastEventAt: new Date().toISOString(),
  recordedAt: new Date().toISOString(),
});
