import type { UsageEvent } from '@paygate/contracts';
import { ServedUsage } from './served-usage';
import type { ServedRequest } from './usage-event.factory';
import type { UsagePublisher } from './usage.publisher';

const served = (requestId: string): ServedRequest => ({
  customerId: '00000000-0000-4000-8000-000000000001',
  leaseId: 'lease-1',
  requestId,
  feature: 'requests',
  route: 'demo',
  method: 'GET',
  status: 200,
  units: 2,
});

describe('ServedUsage', () => {
  let published: UsageEvent[];
  let drains: (() => void)[];
  const usage = (aggregateMs: number) => {
    published = [];
    drains = [];
    const publisher = {
      publish: (e: UsageEvent) => void published.push(e),
      beforeLastFlush: (drain: () => void) => drains.push(drain),
    } as unknown as UsagePublisher;
    return new ServedUsage(publisher, {
      USAGE_EVENT_SOURCE: 'gw',
      USAGE_AGGREGATE_MS: aggregateMs,
    });
  };

  beforeEach(() => jest.useFakeTimers({ now: Date.parse('2026-12-04T10:00:00.000Z') }));
  afterEach(() => jest.useRealTimers());

  it('publishes a window as one event once it ended, and the next window when it ends', () => {
    const s = usage(100);
    for (let i = 0; i < 50; i += 1) s.record(served(`r${i}`), false);
    expect(published).toEqual([]);
    jest.advanceTimersByTime(99);
    expect(published).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ occurrences: 50, data: { units: 2 } });

    jest.advanceTimersByTime(30);
    s.record(served('late'), false);
    jest.advanceTimersByTime(70);
    expect(published.map((e) => e.occurrences)).toEqual([50, 1]);
    expect(s.pending).toBe(0);
  });

  it('publishes one event per request, with its request id, for a route that asks, or with 0', () => {
    const s = usage(100);
    s.record(served('a'), true);
    s.record(served('b'), true);
    expect(published.map((e) => [e.requestid, e.occurrences])).toEqual([
      ['a', undefined],
      ['b', undefined],
    ]);
    const off = usage(0);
    off.record(served('c'), false);
    expect(published.map((e) => e.requestid)).toEqual(['c']);
  });

  it("publishes every window when the publisher's shutdown drains it, then each request alone", () => {
    const s = usage(1000);
    s.record(served('a'), false);
    s.record(served('b'), false);
    expect(drains).toHaveLength(1);
    drains[0]();
    expect(published).toHaveLength(1);
    expect(published[0].occurrences).toBe(2);
    // A request still in flight at shutdown, served after the drain.
    s.record(served('c'), false);
    expect(published.map((e) => e.requestid)).toEqual([undefined, 'c']);
    jest.advanceTimersByTime(5000);
    expect(published).toHaveLength(2);
  });
});
