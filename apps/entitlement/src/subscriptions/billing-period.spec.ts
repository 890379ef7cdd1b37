import { periodBoundary, periodContaining } from './billing-period';

const d = (s: string) => new Date(s);

describe('billing periods', () => {
  it('counts months from the anchor, clamping to the end of shorter months without drift', () => {
    const anchor = d('2026-01-31T10:00:00Z');
    expect(periodBoundary(anchor, 'month', 1)).toEqual(d('2026-02-28T10:00:00Z'));
    expect(periodBoundary(anchor, 'month', 2)).toEqual(d('2026-03-31T10:00:00Z'));
    expect(periodBoundary(anchor, 'month', 3)).toEqual(d('2026-04-30T10:00:00Z'));
    expect(periodBoundary(d('2028-02-29T00:00:00Z'), 'year', 1)).toEqual(d('2029-02-28T00:00:00Z'));
  });

  it('finds the period containing a time, boundaries belonging to the next period', () => {
    const anchor = d('2026-01-31T00:00:00Z');
    expect(periodContaining(anchor, 'month', d('2026-03-01T00:00:00Z'))).toEqual({
      start: d('2026-02-28T00:00:00Z'),
      end: d('2026-03-31T00:00:00Z'),
    });
    expect(periodContaining(anchor, 'month', d('2026-03-31T00:00:00Z')).start).toEqual(
      d('2026-03-31T00:00:00Z'),
    );
    expect(periodContaining(anchor, 'day', d('2026-01-31T23:59:59Z'))).toEqual({
      start: anchor,
      end: d('2026-02-01T00:00:00Z'),
    });
  });

  it('agrees with stepping period by period over ten years', () => {
    const anchor = d('2024-02-29T12:00:00Z');
    for (const interval of ['day', 'week', 'month', 'year'] as const) {
      for (let n = 0; n < 40; n++) {
        const start = periodBoundary(anchor, interval, n);
        const end = periodBoundary(anchor, interval, n + 1);
        const middle = new Date((start.getTime() + end.getTime()) / 2);
        expect(periodContaining(anchor, interval, middle)).toEqual({ start, end });
        expect(periodContaining(anchor, interval, start)).toEqual({ start, end });
      }
    }
  });
});
