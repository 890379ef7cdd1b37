import { parseUsageEvent } from '@paygate/contracts';
import { UsageAggregator } from './usage-aggregator';
import type { ServedRequest } from './usage-event.factory';

const served = (overrides: Partial<ServedRequest> = {}): ServedRequest => ({
  customerId: '00000000-0000-4000-8000-000000000001',
  leaseId: 'lease-1',
  requestId: 'req',
  feature: 'requests',
  route: 'demo',
  method: 'GET',
  status: 200,
  units: 1,
  ...overrides,
});

const T0 = Date.parse('2026-12-04T10:00:00.000Z');

describe('UsageAggregator', () => {
  const aggregator = () => new UsageAggregator({ source: 'gw', holder: 'h1', windowMs: 100 });

  it('folds a window of alike requests into one event with exact occurrences', () => {
    const a = aggregator();
    for (let i = 0; i < 1000; i += 1) a.add(served({ requestId: `r${i}` }), T0 + (i % 100));
    expect(a.pending).toBe(1000);
    // The window is still running.
    expect(a.takeEnded(T0 + 99)).toEqual([]);
    const [event, ...rest] = a.takeEnded(T0 + 100);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      specversion: '1.0',
      source: 'gw',
      type: 'dev.paygate.request.served',
      subject: served().customerId,
      leaseid: 'lease-1',
      occurrences: 1000,
      time: new Date(T0 + 99).toISOString(),
      data: { units: 1, feature: 'requests', route: 'demo', method: 'GET', status: 200 },
    });
    expect(event).not.toHaveProperty('requestid');
    // A valid usage event as metering parses it.
    expect(parseUsageEvent(JSON.stringify(event))).toMatchObject({ ok: true });
    expect(a.pending).toBe(0);
  });

  it('keeps apart what a meter could tell apart, and the windows', () => {
    const a = aggregator();
    const kinds = [
      served(),
      served({ units: 3 }),
      served({ status: 404 }),
      served({ method: 'POST' }),
      served({ route: 'other' }),
      served({ feature: 'export' }),
      served({ leaseId: 'lease-2' }),
      served({ leaseId: '' }),
      served({ customerId: '00000000-0000-4000-8000-000000000002' }),
    ];
    for (const kind of kinds) {
      a.add(kind, T0 + 10);
      a.add(kind, T0 + 20);
      a.add(kind, T0 + 150); // the next window
    }
    const first = a.takeEnded(T0 + 100);
    expect(first).toHaveLength(kinds.length);
    expect(first.every((e) => e.occurrences === 2)).toBe(true);
    const second = a.takeAll();
    expect(second).toHaveLength(kinds.length);
    expect(second.every((e) => e.occurrences === 1)).toBe(true);
    // Units per occurrence are kept, so a sum meter adds 3 × 2 for that kind.
    expect(first.find((e) => e.data.units === 3)?.occurrences).toBe(2);
    // No lease, no leaseid.
    expect(first.filter((e) => e.leaseid === undefined)).toHaveLength(1);
    const ids = [...first, ...second].map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives the same aggregate the same id, and another gateway another one', () => {
    const idOf = (holder: string) => {
      const a = new UsageAggregator({ source: 'gw', holder, windowMs: 100 });
      a.add(served(), T0 + 5);
      return a.takeAll()[0].id;
    };
    expect(idOf('h1')).toBe(idOf('h1'));
    expect(idOf('h1')).not.toBe(idOf('h2'));
    expect(idOf('h1')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('never opens a published window again when the clock steps back: a new id, nothing lost', () => {
    const a = aggregator();
    a.add(served(), T0 + 10);
    const [published] = a.takeEnded(T0 + 160);
    // The clock steps back 100 ms: the next request's time falls in the window just published.
    expect(a.add(served(), T0 + 60)).toBe(T0 + 200);
    const [late, ...rest] = a.takeAll();
    expect(rest).toEqual([]);
    expect(late.id).not.toBe(published.id);
    expect([published.occurrences, late.occurrences]).toEqual([1, 1]);
    expect(late.time).toBe(new Date(T0 + 60).toISOString());
  });

  it('never lets an event straddle a minute: windows must divide one', () => {
    expect(() => new UsageAggregator({ source: 'gw', holder: 'h', windowMs: 70 })).toThrow(
      /divide a minute/,
    );
    expect(() => new UsageAggregator({ source: 'gw', holder: 'h', windowMs: 0 })).toThrow();
    const a = new UsageAggregator({ source: 'gw', holder: 'h', windowMs: 1000 });
    a.add(served(), T0 + 59_999);
    a.add(served(), T0 + 60_000);
    const times = a.takeAll().map((e) => e.time);
    expect(times).toEqual([
      new Date(T0 + 59_999).toISOString(),
      new Date(T0 + 60_000).toISOString(),
    ]);
  });
});
