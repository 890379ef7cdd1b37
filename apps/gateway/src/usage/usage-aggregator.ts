import { REQUEST_SERVED_EVENT_TYPE, type UsageEvent } from '@paygate/contracts';
import { createHash } from 'node:crypto';
import type { ServedRequest } from './usage-event.factory';

/** The window lengths a gateway may aggregate over: each divides a minute (see add). */
export const USAGE_AGGREGATE_WINDOWS_MS = [0, 10, 20, 25, 50, 100, 200, 250, 500, 1000] as const;

/** Served requests alike in everything a meter can read, within one window. */
interface Aggregate {
  served: ServedRequest;
  occurrences: number;
  lastMs: number;
}

/**
 * Folds served requests into one usage event per window and per lease, customer, feature,
 * route, method, status and units per request: an event with the `occurrences` extension, so
 * a `sum` meter adds units × occurrences and a `count` meter counts occurrences, exactly as
 * that many single events would (max, latest and a distinct route or status are the same for
 * every occurrence; only the request id is not carried: it stays in the access log, next to
 * the lease id). Windows are aligned to the epoch and divide a minute, so an event never
 * straddles the minute metering buckets by.
 *
 * An event's id is derived from this gateway's id, the window and what the requests share, so
 * it is the same each time the same aggregate is published (a retried send is a duplicate at
 * metering, never new usage); two windows, two gateways or two kinds of request never share
 * one, and a window once taken is never filled again (a clock stepped back fills the next).
 */
export class UsageAggregator {
  private readonly windows = new Map<number, Map<string, Aggregate>>();
  /** The end of the latest window taken: no window before it is opened again (see add). */
  private takenUpTo = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: { source: string; holder: string; windowMs: number }) {
    if (options.windowMs <= 0 || 60_000 % options.windowMs !== 0)
      throw new Error(`usage aggregation window ${options.windowMs} ms must divide a minute`);
  }

  /** Counts a served request in its window; the end of that window (ms) for the caller's timer. */
  add(served: ServedRequest, nowMs: number): number {
    // A clock stepped back (NTP, a resumed VM) would put the request in a window already
    // published: the same event id with another count, which metering drops as a repeat, so
    // the request would go uncharged. It goes in the first window not taken yet instead.
    const start = Math.max(nowMs - (nowMs % this.options.windowMs), this.takenUpTo);
    let window = this.windows.get(start);
    if (!window) {
      window = new Map();
      this.windows.set(start, window);
    }
    const key = aggregateKey(served);
    const aggregate = window.get(key);
    if (aggregate) {
      aggregate.occurrences += 1;
      aggregate.lastMs = nowMs;
    } else {
      window.set(key, { served, occurrences: 1, lastMs: nowMs });
    }
    return start + this.options.windowMs;
  }

  /** The events of every window that ended at or before `nowMs`, taken out. */
  takeEnded(nowMs: number): UsageEvent[] {
    const events: UsageEvent[] = [];
    for (const [start, window] of this.windows) {
      if (start + this.options.windowMs > nowMs) continue;
      this.windows.delete(start);
      this.takenUpTo = Math.max(this.takenUpTo, start + this.options.windowMs);
      for (const [key, aggregate] of window) events.push(this.event(start, key, aggregate));
    }
    return events;
  }

  /** Every event, ended or not (shutdown). */
  takeAll(): UsageEvent[] {
    return this.takeEnded(Number.POSITIVE_INFINITY);
  }

  get windowMs(): number {
    return this.options.windowMs;
  }

  /** Requests counted and not yet taken. */
  get pending(): number {
    let n = 0;
    for (const window of this.windows.values())
      for (const aggregate of window.values()) n += aggregate.occurrences;
    return n;
  }

  private event(start: number, key: string, aggregate: Aggregate): UsageEvent {
    const { served, occurrences, lastMs } = aggregate;
    return {
      specversion: '1.0',
      id: stableId(`${this.options.holder}\n${start}\n${key}`),
      source: this.options.source,
      type: REQUEST_SERVED_EVENT_TYPE,
      subject: served.customerId,
      time: new Date(lastMs).toISOString(),
      datacontenttype: 'application/json',
      ...(served.leaseId ? { leaseid: served.leaseId } : {}),
      occurrences,
      data: {
        units: served.units,
        feature: served.feature,
        route: served.route,
        method: served.method,
        status: served.status,
      },
    };
  }
}

/** What a meter can read of a served request, and its lease and customer. */
function aggregateKey(s: ServedRequest): string {
  // Per served request: one string built, no array to join.
  return `${s.leaseId}\n${s.customerId}\n${s.feature}\n${s.route}\n${s.method}\n${s.status}\n${s.units}`;
}

/** A UUID-shaped id from a SHA-256 of `name` (as UUIDv5 does from SHA-1). */
function stableId(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
