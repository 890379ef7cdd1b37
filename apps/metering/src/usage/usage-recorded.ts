import type { LeasedUsage, UsageRecordedEvent } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import { ADDITIVE_AGGREGATIONS } from '../meters/meter';
import type { MeteredEvent } from './usage-batch';

interface Recorded {
  customerId: string;
  meterKey: string;
  /** Exact (bigint): a batch's events of up to 2^53 − 1 each can add up past a JSON number. */
  quantity: bigint;
  leased: Map<string, bigint>;
  firstMs: number;
  lastMs: number;
}

/** The bound on one message's quantities: usage.recorded carries them as exact JSON numbers. */
export const MAX_RECORDED_QUANTITY = BigInt(Number.MAX_SAFE_INTEGER);

interface Part {
  quantity: bigint;
  leased: LeasedUsage[];
}

/**
 * Splits a customer's meter total into parts of at most MAX_RECORDED_QUANTITY, leased units
 * first (a lease's units may be split over two parts), so that every part's leased units fit in
 * its quantity and every quantity is a safe integer. Almost always a single part.
 */
export function splitRecorded(quantity: bigint, leased: Map<string, bigint>): Part[] {
  const parts: Part[] = [];
  let current: Part = { quantity: 0n, leased: [] };
  const put = (amount: bigint, leaseId: string | null) => {
    let left = amount;
    while (left > 0n) {
      const room = MAX_RECORDED_QUANTITY - current.quantity;
      if (room === 0n) {
        parts.push(current);
        current = { quantity: 0n, leased: [] };
        continue;
      }
      const take = left < room ? left : room;
      current.quantity += take;
      if (leaseId !== null) current.leased.push({ leaseId, quantity: Number(take) });
      left -= take;
    }
  };
  let leasedTotal = 0n;
  for (const [leaseId, q] of leased) {
    put(q, leaseId);
    leasedTotal += q;
  }
  put(quantity - leasedTotal, null);
  if (current.quantity > 0n) parts.push(current);
  return parts;
}

/**
 * One usage.recorded message per customer and additive meter of a batch's fresh events (more
 * than one only when the batch's total passes 2^53 − 1: see splitRecorded). max, latest and
 * unique_count have no delta that could be charged per batch, so they are only queried, never
 * sent to the ledger.
 */
export function usageRecordedMessages(
  events: MeteredEvent[],
  recordedAt: Date,
): UsageRecordedEvent[] {
  const byCustomerMeter = new Map<string, Recorded>();
  for (const { event, timeMs, readings } of events) {
    for (const { meter, amount, times } of readings) {
      if (!ADDITIVE_AGGREGATIONS.includes(meter.aggregation)) continue;
      const key = `${event.subject}\u0000${meter.key}`;
      let r = byCustomerMeter.get(key);
      if (r === undefined) {
        r = {
          customerId: event.subject,
          meterKey: meter.key,
          quantity: 0n,
          leased: new Map(),
          firstMs: timeMs,
          lastMs: timeMs,
        };
        byCustomerMeter.set(key, r);
      }
      const units = BigInt(amount) * BigInt(times);
      r.quantity += units;
      if (event.leaseid) r.leased.set(event.leaseid, (r.leased.get(event.leaseid) ?? 0n) + units);
      if (timeMs < r.firstMs) r.firstMs = timeMs;
      if (timeMs > r.lastMs) r.lastMs = timeMs;
    }
  }
  return [...byCustomerMeter.values()]
    .filter((r) => r.quantity > 0n)
    .flatMap((r) =>
      splitRecorded(r.quantity, r.leased).map((part) => ({
        id: randomUUID(),
        customerId: r.customerId,
        meterKey: r.meterKey,
        quantity: Number(part.quantity),
        leased: part.leased,
        firstEventAt: new Date(r.firstMs).toISOString(),
        lastEventAt: new Date(r.lastMs).toISOString(),
        recordedAt: recordedAt.toISOString(),
      })),
    );
}
