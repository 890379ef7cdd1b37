import { REQUEST_SERVED_EVENT_TYPE } from '@paygate/contracts';
import type { OutboundMessage } from '@paygate/messaging';
import { createHash } from 'node:crypto';

/**
 * The first 14 characters (`xxxxxxxx-xxxx-`) the customer ids of a run share: what a query
 * selects the run's rollups by (`LIKE prefix || '%'`). Customer ids are UUIDs, as usage
 * events' subjects must be, drawn from the run's id.
 */
export function runCustomerPrefix(runId: string): string {
  const hex = createHash('sha256').update(runId).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-`;
}

/** Customer `n` of a run: a UUID (version 4's layout) under runCustomerPrefix. */
export function runCustomer(runId: string, n: number): string {
  return `${runCustomerPrefix(runId)}4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export interface UsageLoad {
  messages: OutboundMessage[];
  /** Units each customer must end up with: duplicates and malformed events excluded. */
  expectedUnits: Map<string, number>;
  uniqueEvents: number;
  duplicates: number;
  malformed: number;
}

export interface UsageLoadOptions {
  runId: string;
  topic: string;
  events: number;
  customers: number;
  duplicateShare: number;
  malformedShare: number;
}

/** Deterministic small PRNG, so a failing run can be repeated with the same load. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Served-request events for `customers` customers of this run, with the requested share of
 * exact duplicates (same source and id, published again later) and of malformed messages
 * (half bad JSON, half failing validation). Event times are "now", inside every window.
 */
export function usageLoad(options: UsageLoadOptions, seed = 42): UsageLoad {
  const random = prng(seed);
  const messages: OutboundMessage[] = [];
  const expectedUnits = new Map<string, number>();
  const sent: OutboundMessage[] = [];
  let duplicates = 0;
  let malformed = 0;
  const time = new Date().toISOString();
  for (let i = 0; i < options.events; i++) {
    const customer = runCustomer(options.runId, Math.floor(random() * options.customers));
    const roll = random();
    if (roll < options.malformedShare) {
      malformed += 1;
      const value =
        malformed % 2 === 0
          ? `{"specversion":"1.0","id":"bad-${i}",`
          : JSON.stringify({
              specversion: '1.0',
              id: `bad-${i}`,
              source: options.runId,
              subject: customer,
            });
      messages.push({ topic: options.topic, key: customer, value });
    } else if (roll < options.malformedShare + options.duplicateShare && sent.length > 0) {
      duplicates += 1;
      messages.push(sent[Math.floor(random() * sent.length)]);
    } else {
      const units = 1 + Math.floor(random() * 5);
      const message: OutboundMessage = {
        topic: options.topic,
        key: customer,
        value: JSON.stringify({
          specversion: '1.0',
          id: `${options.runId}-${i}`,
          source: `bench/${options.runId}`,
          type: REQUEST_SERVED_EVENT_TYPE,
          subject: customer,
          time,
          data: { units, route: '/v1/things' },
        }),
      };
      expectedUnits.set(customer, (expectedUnits.get(customer) ?? 0) + units);
      sent.push(message);
      messages.push(message);
    }
  }
  return { messages, expectedUnits, uniqueEvents: sent.length, duplicates, malformed };
}
