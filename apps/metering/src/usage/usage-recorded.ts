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

/**
 * The bound on one message's JSON (its value's bytes). The outbox relay sends nothing above the
 * outbound chunk limit (DEFAULT_MAX_CHUNK_BYTES, 900 KiB with key and record overhead) and parks
 * it, so its usage would be in the rollups but never charged; a batch's list of leases has no
 * bound of its own, so messages are cut to this, far enough below the limit for any key.
 */
export const MAX_RECORDED_BYTES = 256 * 1024;

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** Most bytes a lease's entry takes in `leased` (its comma included), whatever its quantity. */
export const leasedEntryBytes = (leaseId: string) =>
  jsonBytes({ leaseId, quantity: Number.MAX_SAFE_INTEGER }) + 1;

interface Part {
  quantity: bigint;
  leased: LeasedUsage[];
}

/**
 * Splits a customer's meter total into parts of at most MAX_RECORDED_QUANTITY whose `leased`
 * entries take at most `leasedBytes`, leased units first, so that every part's leased units fit
 * in its quantity and every quantity is a safe integer. A lease's units stay in one part unless
 * the quantity bound cuts them over two (a part that only runs out of bytes moves the whole
 * entry to the next part). Units without a lease fill what quantity room is left, so every
 * unit is in exactly one part. Almost always a single part.
 */
export function splitRecorded(
  quantity: bigint,
  leased: Map<string, bigint>,
  leasedBytes = MAX_RECORDED_BYTES,
): Part[] {
  const parts: Part[] = [];
  let current: Part = { quantity: 0n, leased: [] };
  let bytes = 0;
  const close = () => {
    parts.push(current);
    current = { quantity: 0n, leased: [] };
    bytes = 0;
  };
  const put = (amount: bigint, leaseId: string | null) => {
    const entry = leaseId === null ? 0 : leasedEntryBytes(leaseId);
    // The contract bounds lease ids far below this; a RangeError is isolated to its batch's
    // event and dead-lettered, where a message past the limit would be parked uncharged.
    if (entry > leasedBytes)
      throw new RangeError(`a lease id of ${entry} bytes leaves no usage.recorded message room`);
    let left = amount;
    while (left > 0n) {
      const room = MAX_RECORDED_QUANTITY - current.quantity;
      if (room === 0n || bytes + entry > leasedBytes) {
        close();
        continue;
      }
      const take = left < room ? left : room;
      current.quantity += take;
      if (leaseId !== null) {
        current.leased.push({ leaseId, quantity: Number(take) });
        bytes += entry;
      }
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
 * than one only when the batch's total passes 2^53 − 1, or its leases would make a message
 * past MAX_RECORDED_BYTES: see splitRecorded). Each part has an id of its own, made once and
 * kept in the outbox row, so a re-sent row is applied once and a redelivered batch, whose
 * events are claimed, makes none. max, latest and unique_count have no delta that could be
 * charged per batch, so they are only queried, never sent to the ledger.
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
    .flatMap((r) => {
      const message = (part: Part): UsageRecordedEvent => ({
        id: randomUUID(),
        customerId: r.customerId,
        meterKey: r.meterKey,
        quantity: Number(part.quantity),
        leased: part.leased,
        firstEventAt: new Date(r.firstMs).toISOString(),
        lastEventAt: new Date(r.lastMs).toISOString(),
        recordedAt: recordedAt.toISOString(),
      });
      // What a message takes besides its leases, at the largest quantity it can carry.
      const envelope = jsonBytes(message({ quantity: MAX_RECORDED_QUANTITY, leased: [] }));
      return splitRecorded(r.quantity, r.leased, MAX_RECORDED_BYTES - envelope).map(message);
    });
}
