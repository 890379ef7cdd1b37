import { createHash } from 'node:crypto';
import { bucketStart, type MeteredEvent } from './usage-batch';

/**
 * One rollup row's change from one batch; merged into the stored row by the upsert. `sum` is a
 * bigint: every value is a safe integer, but a few of them near 2^53 − 1 already add up past
 * it, where a JS number would round. `max` and `latest` are single values (safe integers) and
 * `count` is at most the batch's size times 2^31 − 1 occurrences (far below 2^53), so they stay
 * numbers.
 */
export interface RollupDelta {
  customerId: string;
  meterKey: string;
  meterVersion: number;
  group: string;
  bucketMs: number;
  sum: bigint;
  max: number;
  latest: number;
  latestMs: number;
  count: number;
}

/** A distinct value seen by a unique_count meter in one bucket. */
export interface UniqueValue {
  customerId: string;
  meterKey: string;
  meterVersion: number;
  group: string;
  bucketMs: number;
  /** md5 of the value as a UUID: fixed-size rows whatever the value's length. */
  hash: string;
}

const SEP = '\u0000';

function uuidOf(value: string): string {
  const h = createHash('md5').update(value).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Folds a batch's fresh events into one delta per (customer, meter, version, group, minute),
 * every aggregation's column at once, sorted so that concurrent writers lock rows in the same
 * order and cannot deadlock. For `latest` the later event time wins, and at equal times the
 * later offset (events arrive in offset order).
 */
export function rollupDeltas(events: MeteredEvent[]): {
  deltas: RollupDelta[];
  uniques: UniqueValue[];
} {
  const deltas = new Map<string, RollupDelta>();
  const uniques = new Map<string, UniqueValue>();
  for (const { event, timeMs, readings } of events) {
    const bucketMs = bucketStart(timeMs);
    for (const { meter, amount, times, distinct, group } of readings) {
      const key =
        event.subject + SEP + meter.key + SEP + meter.version + SEP + group + SEP + bucketMs;
      const row = deltas.get(key);
      if (row === undefined) {
        deltas.set(key, {
          customerId: event.subject,
          meterKey: meter.key,
          meterVersion: meter.version,
          group,
          bucketMs,
          sum: BigInt(amount) * BigInt(times),
          max: amount,
          latest: amount,
          latestMs: timeMs,
          count: times,
        });
      } else {
        row.sum += BigInt(amount) * BigInt(times);
        row.count += times;
        if (amount > row.max) row.max = amount;
        if (timeMs >= row.latestMs) {
          row.latest = amount;
          row.latestMs = timeMs;
        }
      }
      if (distinct !== null) {
        const hash = uuidOf(distinct);
        uniques.set(key + SEP + hash, {
          customerId: event.subject,
          meterKey: meter.key,
          meterVersion: meter.version,
          group,
          bucketMs,
          hash,
        });
      }
    }
  }
  const sorted = <T>(m: Map<string, T>) =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return { deltas: sorted(deltas), uniques: sorted(uniques) };
}
