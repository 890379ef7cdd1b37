import type { Meter } from '../meters/meter';
import { rollupDeltas } from './rollup-deltas';
import type { MeteredEvent } from './usage-batch';
import { usageRecordedMessages } from './usage-recorded';

const sum: Meter = {
  key: 'tokens',
  version: 2,
  eventType: 't',
  aggregation: 'sum',
  valuePath: '$.n',
  groupBy: {},
};
const max: Meter = { ...sum, key: 'peak', aggregation: 'max' };
const latest: Meter = { ...sum, key: 'gauge', aggregation: 'latest' };
const uniq: Meter = { ...sum, key: 'users', aggregation: 'unique_count' };

const metered = (
  time: string,
  n: number,
  user: string,
  lease?: string,
  times = 1,
): MeteredEvent => ({
  event: {
    specversion: '1.0',
    id: time + user,
    source: 's',
    type: 't',
    subject: 'c1',
    time,
    data: {},
    leaseid: lease,
  },
  timeMs: Date.parse(time),
  readings: [
    { meter: sum, amount: n, times, distinct: null, group: '{}' },
    { meter: max, amount: n, times, distinct: null, group: '{}' },
    { meter: latest, amount: n, times, distinct: null, group: '{}' },
    { meter: uniq, amount: 1, times, distinct: user, group: '{}' },
  ],
});

describe('rollupDeltas', () => {
  const events = [
    metered('2026-11-24T10:00:10Z', 5, 'ann', 'L1'),
    metered('2026-11-24T10:00:50Z', 2, 'bob'),
    metered('2026-11-24T10:00:20Z', 9, 'ann', 'L1'),
    metered('2026-11-24T10:01:00Z', 1, 'ann'),
  ];

  it('folds every aggregation per meter, version and minute', () => {
    const { deltas, uniques } = rollupDeltas(events);
    const first = (key: string) =>
      deltas.find((d) => d.meterKey === key && d.bucketMs === Date.parse('2026-11-24T10:00:00Z'))!;
    expect(first('tokens')).toMatchObject({ sum: 16n, count: 3, meterVersion: 2 });
    expect(first('peak').max).toBe(9);
    // The latest event time wins, not the last one to arrive.
    expect(first('gauge')).toMatchObject({
      latest: 2,
      latestMs: Date.parse('2026-11-24T10:00:50Z'),
    });
    expect(uniques.filter((u) => u.bucketMs === Date.parse('2026-11-24T10:00:00Z'))).toHaveLength(
      2,
    );
    expect(deltas.filter((d) => d.meterKey === 'tokens').map((d) => d.sum)).toEqual([16n, 1n]);
  });

  it('sums past 2^53 − 1 exactly within one batch (a number would round)', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const big = [
      metered('2026-11-24T10:00:10Z', max, 'ann'),
      metered('2026-11-24T10:00:20Z', max, 'bob'),
      metered('2026-11-24T10:00:30Z', 1, 'cid'),
    ];
    const { deltas } = rollupDeltas(big);
    const tokens = deltas.find((d) => d.meterKey === 'tokens')!;
    expect(tokens.sum).toBe(2n * BigInt(max) + 1n);
    expect(tokens.sum.toString()).toBe('18014398509481983');
    expect(tokens.count).toBe(3);
    // Single values stay numbers: the largest, and the latest by event time.
    expect(deltas.find((d) => d.meterKey === 'peak')!.max).toBe(max);
    expect(deltas.find((d) => d.meterKey === 'gauge')!.latest).toBe(1);
  });

  it('counts an event standing for many occurrences as that many, exactly', () => {
    // 250 requests of 3 units each, reported as one event, next to one plain event of 4.
    const batch = [
      metered('2026-11-24T10:00:10Z', 3, 'ann', 'L1', 250),
      metered('2026-11-24T10:00:20Z', 4, 'bob', 'L1'),
    ];
    const { deltas, uniques } = rollupDeltas(batch);
    expect(deltas.find((d) => d.meterKey === 'tokens')).toMatchObject({ sum: 754n, count: 251 });
    expect(deltas.find((d) => d.meterKey === 'peak')).toMatchObject({ max: 4, count: 251 });
    expect(deltas.find((d) => d.meterKey === 'gauge')).toMatchObject({ latest: 4 });
    // A distinct value is one value, however often it occurred.
    expect(uniques).toHaveLength(2);
    const [message] = usageRecordedMessages(batch, new Date('2026-11-24T10:02:00Z'));
    expect(message).toMatchObject({ quantity: 754, leased: [{ leaseId: 'L1', quantity: 754 }] });
    // Past 2^53 − 1 in one batch, still exact.
    const huge = rollupDeltas([
      metered('2026-11-24T10:00:10Z', 2 ** 22, 'ann', undefined, 2 ** 31 - 1),
      metered('2026-11-24T10:00:11Z', 2 ** 22, 'ann', undefined, 2 ** 31 - 1),
    ]);
    expect(huge.deltas.find((d) => d.meterKey === 'tokens')?.sum).toBe(
      2n * 2n ** 22n * (2n ** 31n - 1n),
    );
  });

  it('sends only additive meters to the ledger, with leased units per lease', () => {
    const [message, ...rest] = usageRecordedMessages(events, new Date('2026-11-24T10:02:00Z'));
    expect(rest).toEqual([]);
    expect(message).toMatchObject({
      customerId: 'c1',
      meterKey: 'tokens',
      quantity: 17,
      leased: [{ leaseId: 'L1', quantity: 14 }],
      firstEventAt: '2026-11-24T10:00:10.000Z',
      lastEventAt: '2026-11-24T10:01:00.000Z',
    });
  });
});
