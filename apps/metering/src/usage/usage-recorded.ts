import type { LeasedUsage, UsageRecordedEvent } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import { ADDITIVE_AGGREGATIONS } from '../meters/meter';
import type { MeteredEvent } from './usage-batch';

interface Recorded {
  customerId: string;
  meterKey: string;
  quantity: number;
  leased: Map<string, number>;
  firstMs: number;
  lastMs: number;
}

/**
 * One usage.recorded message per customer and additive meter of a batch's fresh events.
 * max, latest and unique_count have no delta that could be charged per batch, so they are
 * only queried, never sent to the ledger.
 */
export function usageRecordedMessages(
  events: MeteredEvent[],
  recordedAt: Date,
): UsageRecordedEvent[] {
  const byCustomerMeter = new Map<string, Recorded>();
  for (const { event, timeMs, readings } of events) {
    for (const { meter, amount } of readings) {
      if (!ADDITIVE_AGGREGATIONS.includes(meter.aggregation)) continue;
      const key = `${event.subject}\u0000${meter.key}`;
      let r = byCustomerMeter.get(key);
      if (r === undefined) {
        r = {
          customerId: event.subject,
          meterKey: meter.key,
          quantity: 0,
          leased: new Map(),
          firstMs: timeMs,
          lastMs: timeMs,
        };
        byCustomerMeter.set(key, r);
      }
      r.quantity += amount;
      if (event.leaseid) r.leased.set(event.leaseid, (r.leased.get(event.leaseid) ?? 0) + amount);
      if (timeMs < r.firstMs) r.firstMs = timeMs;
      if (timeMs > r.lastMs) r.lastMs = timeMs;
    }
  }
  return [...byCustomerMeter.values()]
    .filter((r) => r.quantity > 0)
    .map((r) => {
      const leased: LeasedUsage[] = [...r.leased].map(([leaseId, quantity]) => ({
        leaseId,
        quantity,
      }));
      return {
        id: randomUUID(),
        customerId: r.customerId,
        meterKey: r.meterKey,
        quantity: r.quantity,
        leased,
        firstEventAt: new Date(r.firstMs).toISOString(),
        lastEventAt: new Date(r.lastMs).toISOString(),
        recordedAt: recordedAt.toISOString(),
      };
    });
}
