import { USAGE_EVENT_LIMITS, type UsageRecordedEvent } from '@paygate/contracts';
import { DEFAULT_MAX_CHUNK_BYTES, outboundSize } from '@paygate/messaging';
import type { Meter } from '../meters/meter';
import type { MeteredEvent } from './usage-batch';
import {
  MAX_RECORDED_BYTES,
  MAX_RECORDED_QUANTITY,
  leasedEntryBytes,
  splitRecorded,
  usageRecordedMessages,
} from './usage-recorded';

const MAX = Number.MAX_SAFE_INTEGER;
const sum: Meter = {
  key: 'tokens',
  version: 1,
  eventType: 't',
  aggregation: 'sum',
  valuePath: '$.n',
  groupBy: {},
};

const metered = (id: string, n: number, lease?: string, subject = 'c1'): MeteredEvent => ({
  event: {
    specversion: '1.0',
    id,
    source: 's',
    type: 't',
    subject,
    time: '2026-11-24T10:00:10Z',
    data: {},
    leaseid: lease,
  },
  timeMs: Date.parse('2026-11-24T10:00:10Z'),
  readings: [{ meter: sum, amount: n, times: 1, distinct: null, group: '{}' }],
});

const total = (quantities: number[]) => quantities.reduce((s, q) => s + BigInt(q), 0n);

describe('usageRecordedMessages past 2^53 − 1', () => {
  it('keeps one message while the total fits', () => {
    const messages = usageRecordedMessages([metered('a', MAX - 1), metered('b', 1)], new Date());
    expect(messages.map((m) => m.quantity)).toEqual([MAX]);
  });

  it('splits a larger total into safe quantities that add up exactly', () => {
    const messages = usageRecordedMessages(
      [metered('a', MAX), metered('b', 2), metered('c', MAX)],
      new Date(),
    );
    const quantities = messages.map((m) => m.quantity);
    expect(quantities.every((q) => Number.isSafeInteger(q))).toBe(true);
    expect(total(quantities)).toBe(BigInt(MAX) * 2n + 2n);
    expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length);
    expect(messages.every((m) => m.customerId === 'c1' && m.meterKey === 'tokens')).toBe(true);
  });

  it('keeps each part’s leased units within its quantity, a lease split over two parts', () => {
    const messages = usageRecordedMessages(
      [metered('a', MAX, 'L1'), metered('b', 5, 'L1'), metered('c', 7)],
      new Date(),
    );
    for (const m of messages) {
      expect(total(m.leased.map((l) => l.quantity)) <= BigInt(m.quantity)).toBe(true);
    }
    expect(total(messages.flatMap((m) => m.leased.map((l) => l.quantity)))).toBe(BigInt(MAX) + 5n);
    expect(total(messages.map((m) => m.quantity))).toBe(BigInt(MAX) + 12n);
  });
});

describe('splitRecorded', () => {
  it('packs leased units first, then the rest, each part at most the bound', () => {
    const parts = splitRecorded(MAX_RECORDED_QUANTITY * 2n + 3n, new Map([['L', 10n]]));
    expect(parts.map((p) => p.quantity)).toEqual([
      MAX_RECORDED_QUANTITY,
      MAX_RECORDED_QUANTITY,
      3n,
    ]);
    expect(parts[0].leased).toEqual([{ leaseId: 'L', quantity: 10 }]);
    expect(parts[1].leased).toEqual([]);
  });
});

/** Each lease's units over all messages, and every message's own checks. */
function leasedTotals(messages: UsageRecordedEvent[]): Map<string, bigint> {
  const byLease = new Map<string, bigint>();
  for (const m of messages) {
    expect(Buffer.byteLength(JSON.stringify(m))).toBeLessThanOrEqual(MAX_RECORDED_BYTES);
    // What the outbox relay checks before sending: the message, keyed by customer.
    const value = JSON.stringify(m);
    expect(outboundSize({ topic: 'x', key: m.customerId, value })).toBeLessThanOrEqual(
      DEFAULT_MAX_CHUNK_BYTES,
    );
    expect(total(m.leased.map((l) => l.quantity)) <= BigInt(m.quantity)).toBe(true);
    for (const l of m.leased)
      byLease.set(l.leaseId, (byLease.get(l.leaseId) ?? 0n) + BigInt(l.quantity));
  }
  return byLease;
}

describe('usageRecordedMessages past MAX_RECORDED_BYTES', () => {
  it('cuts a batch of 1,000 distinct 1,000-character lease ids into sendable messages', () => {
    // The review's case (ids past today's contract bound): one message of 1,028,236 bytes,
    // which the relay parked, so its usage was never charged.
    const events = Array.from({ length: 1000 }, (_, i) =>
      metered(`e${i}`, 3, `${String(i).padStart(4, '0')}${'l'.repeat(996)}`),
    );
    const messages = usageRecordedMessages(events, new Date());
    expect(messages.length).toBeGreaterThan(1);
    const byLease = leasedTotals(messages);
    // Every event's units in exactly one message, each lease named once with all of its own.
    expect(total(messages.map((m) => m.quantity))).toBe(3000n);
    expect(byLease.size).toBe(1000);
    expect([...byLease.values()].every((q) => q === 3n)).toBe(true);
    expect(messages.reduce((n, m) => n + m.leased.length, 0)).toBe(1000);
    expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length);
    expect(messages.every((m) => m.customerId === 'c1' && m.meterKey === 'tokens')).toBe(true);
  });

  it('keeps the largest ids the contract takes within the bound, with unleased units too', () => {
    // Longest subject, and lease ids of the most UTF-8 bytes an allowable string can have.
    const subject = '\u4e00'.repeat(USAGE_EVENT_LIMITS.maxSubjectLength);
    const id = (i: number) =>
      String(i).padStart(6, '0') + '\u4e00'.repeat(USAGE_EVENT_LIMITS.maxLeaseIdLength - 6);
    const events = [
      ...Array.from({ length: 3000 }, (_, i) => metered(`e${i}`, i + 1, id(i), subject)),
      metered('free', MAX, undefined, subject),
    ];
    const messages = usageRecordedMessages(events, new Date());
    const byLease = leasedTotals(messages);
    expect(messages.length).toBeGreaterThan(2);
    expect(total(messages.map((m) => m.quantity))).toBe(BigInt(MAX) + (3000n * 3001n) / 2n);
    expect(byLease.size).toBe(3000);
    expect(
      [...byLease].every(([leaseId, q]) => q === BigInt(Number(leaseId.slice(0, 6)) + 1)),
    ).toBe(true);
  });
});

describe('splitRecorded by bytes', () => {
  const lease = (n: number) => `L${n}`;
  const entry = leasedEntryBytes(lease(0));

  it('moves whole leases to the next part when one runs out of bytes, the rest last', () => {
    const leased = new Map([1, 2, 3, 4, 5].map((n) => [lease(n), BigInt(n)]));
    const parts = splitRecorded(20n, leased, entry * 2);
    expect(parts.map((p) => p.leased.map((l) => l.leaseId))).toEqual([
      ['L1', 'L2'],
      ['L3', 'L4'],
      ['L5'],
    ]);
    // Units without a lease go with the last part: every unit once, in one part.
    expect(parts.map((p) => p.quantity)).toEqual([3n, 7n, 10n]);
  });

  it('refuses a lease id no part could hold, rather than make an unsendable message', () => {
    expect(() => splitRecorded(1n, new Map([['x'.repeat(100), 1n]]), 50)).toThrow(RangeError);
  });

  it('applies both bounds at once', () => {
    const leased = new Map([
      [lease(1), MAX_RECORDED_QUANTITY],
      [lease(2), 1n],
      [lease(3), 1n],
    ]);
    const parts = splitRecorded(MAX_RECORDED_QUANTITY + 5n, leased, entry);
    expect(parts.map((p) => [p.quantity, p.leased.map((l) => l.leaseId)])).toEqual([
      [MAX_RECORDED_QUANTITY, ['L1']],
      [1n, ['L2']],
      [4n, ['L3']],
    ]);
  });
});
