import type { Meter } from '../meters/meter';
import type { MeteredEvent } from './usage-batch';
import { MAX_RECORDED_QUANTITY, splitRecorded, usageRecordedMessages } from './usage-recorded';

const MAX = Number.MAX_SAFE_INTEGER;
const sum: Meter = {
  key: 'tokens',
  version: 1,
  eventType: 't',
  aggregation: 'sum',
  valuePath: '$.n',
  groupBy: {},
};

const metered = (id: string, n: number, lease?: string): MeteredEvent => ({
  event: {
    specversion: '1.0',
    id,
    source: 's',
    type: 't',
    subject: 'c1',
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
