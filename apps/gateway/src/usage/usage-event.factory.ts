import {
  REQUEST_SERVED_EVENT_TYPE,
  type RequestServedData,
  type UsageEvent,
} from '@paygate/contracts';
import { randomUUID } from 'node:crypto';

export interface ServedRequest {
  customerId: string;
  leaseId: string;
  requestId: string;
  feature: string;
  route: string;
  method: string;
  status: number;
  units: number;
}

/**
 * One usage event per served request. Its id is fresh (the caller chooses X-Request-Id, so it
 * cannot be the dedupe key); the request and lease ids ride along as extensions.
 */
export function servedRequestEvent(
  source: string,
  served: ServedRequest,
  now = new Date(),
): UsageEvent {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source,
    type: REQUEST_SERVED_EVENT_TYPE,
    subject: served.customerId,
    time: now.toISOString(),
    datacontenttype: 'application/json',
    ...(served.leaseId ? { leaseid: served.leaseId } : {}),
    requestid: served.requestId,
    data: {
      units: served.units,
      feature: served.feature,
      route: served.route,
      method: served.method,
      status: served.status,
    } satisfies RequestServedData,
  };
}
