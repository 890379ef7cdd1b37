import { DATE_INPUT_RANGE, isRfc3339DateTime } from '@paygate/http';
import { BILLING_INTERVALS, periodAfter, periodBoundary, periodContaining } from './billing-period';

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

  it('agrees with stepping period by period over ten years, after and before the anchor', () => {
    for (const anchor of [d('2024-02-29T12:00:00Z'), d('2026-03-31T23:59:59.999Z')]) {
      for (const interval of ['day', 'week', 'month', 'year'] as const) {
        for (let n = -40; n < 40; n++) {
          const start = periodBoundary(anchor, interval, n);
          const end = periodBoundary(anchor, interval, n + 1);
          const middle = new Date((start.getTime() + end.getTime()) / 2);
          const last = new Date(end.getTime() - 1);
          expect(periodContaining(anchor, interval, middle)).toEqual({ start, end });
          expect(periodContaining(anchor, interval, start)).toEqual({ start, end });
          expect(periodContaining(anchor, interval, last)).toEqual({ start, end });
        }
      }
    }
  });

  describe('before the anchor (a trial that ends at it)', () => {
    const anchor = d('2026-02-15T08:30:00Z');

    it("steps days back at the anchor's time of day", () => {
      expect(periodContaining(anchor, 'day', d('2026-02-03T13:00:00Z'))).toEqual({
        start: d('2026-02-03T08:30:00Z'),
        end: d('2026-02-04T08:30:00Z'),
      });
      expect(periodContaining(anchor, 'day', d('2026-02-03T05:00:00Z'))).toEqual({
        start: d('2026-02-02T08:30:00Z'),
        end: d('2026-02-03T08:30:00Z'),
      });
    });

    it('puts the last moment before the anchor in the day before it, the anchor after', () => {
      expect(periodContaining(anchor, 'day', d('2026-02-15T08:29:59.999Z'))).toEqual({
        start: d('2026-02-14T08:30:00Z'),
        end: anchor,
      });
      expect(periodContaining(anchor, 'day', anchor)).toEqual({
        start: anchor,
        end: d('2026-02-16T08:30:00Z'),
      });
      expect(periodContaining(anchor, 'day', d('2026-02-14T08:30:00Z')).start).toEqual(
        d('2026-02-14T08:30:00Z'),
      );
    });

    it('steps weeks back from the anchor', () => {
      expect(periodContaining(anchor, 'week', d('2026-02-01T12:00:00Z'))).toEqual({
        start: d('2026-02-01T08:30:00Z'),
        end: d('2026-02-08T08:30:00Z'),
      });
      expect(periodContaining(anchor, 'week', d('2026-02-01T08:29:59Z'))).toEqual({
        start: d('2026-01-25T08:30:00Z'),
        end: d('2026-02-01T08:30:00Z'),
      });
    });

    it("steps months back on the anchor's day of the month", () => {
      expect(periodContaining(anchor, 'month', d('2026-02-03T13:00:00Z'))).toEqual({
        start: d('2026-01-15T08:30:00Z'),
        end: anchor,
      });
      expect(periodContaining(anchor, 'month', d('2026-01-15T08:29:59Z'))).toEqual({
        start: d('2025-12-15T08:30:00Z'),
        end: d('2026-01-15T08:30:00Z'),
      });
    });

    it('clamps a 31st anchor to shorter months backwards as forwards, without drift', () => {
      const last = d('2026-03-31T10:00:00Z');
      expect(periodContaining(last, 'month', d('2026-03-15T00:00:00Z'))).toEqual({
        start: d('2026-02-28T10:00:00Z'),
        end: last,
      });
      expect(periodContaining(last, 'month', d('2026-02-28T09:59:59Z'))).toEqual({
        start: d('2026-01-31T10:00:00Z'),
        end: d('2026-02-28T10:00:00Z'),
      });
      expect(periodContaining(last, 'month', d('2026-02-28T10:00:00Z')).start).toEqual(
        d('2026-02-28T10:00:00Z'),
      );
      expect(periodContaining(last, 'month', d('2025-12-01T00:00:00Z'))).toEqual({
        start: d('2025-11-30T10:00:00Z'),
        end: d('2025-12-31T10:00:00Z'),
      });
      expect(
        periodContaining(d('2024-03-31T00:00:00Z'), 'month', d('2024-03-01T00:00:00Z')),
      ).toEqual({ start: d('2024-02-29T00:00:00Z'), end: d('2024-03-31T00:00:00Z') });
    });

    it('steps years back, the 29th of February falling back to the 28th', () => {
      const leap = d('2028-02-29T00:00:00Z');
      expect(periodContaining(leap, 'year', d('2027-06-01T00:00:00Z'))).toEqual({
        start: d('2027-02-28T00:00:00Z'),
        end: leap,
      });
      expect(periodContaining(leap, 'year', d('2027-02-27T23:59:59Z'))).toEqual({
        start: d('2026-02-28T00:00:00Z'),
        end: d('2027-02-28T00:00:00Z'),
      });
      expect(periodContaining(leap, 'year', d('2024-02-29T00:00:00Z'))).toEqual({
        start: d('2024-02-29T00:00:00Z'),
        end: d('2025-02-28T00:00:00Z'),
      });
    });

    it('finds periods far before the anchor', () => {
      expect(periodContaining(anchor, 'day', new Date(0))).toEqual({
        start: d('1969-12-31T08:30:00Z'),
        end: d('1970-01-01T08:30:00Z'),
      });
      expect(periodContaining(anchor, 'month', d('1990-07-20T00:00:00Z'))).toEqual({
        start: d('1990-07-15T08:30:00Z'),
        end: d('1990-08-15T08:30:00Z'),
      });
      expect(periodContaining(anchor, 'year', d('1900-01-01T00:00:00Z'))).toEqual({
        start: d('1899-02-15T08:30:00Z'),
        end: d('1900-02-15T08:30:00Z'),
      });
      expect(periodContaining(anchor, 'week', d('2025-02-16T08:30:00Z'))).toEqual({
        start: d('2025-02-16T08:30:00Z'),
        end: d('2025-02-23T08:30:00Z'),
      });
    });
  });

  describe('the period a subscription rolls to', () => {
    const anchor = d('2026-01-01T00:00:00Z');

    it('starts where a shorter first period ended, up to the anchored boundary', () => {
      const end = d('2026-01-10T00:00:00Z');
      expect(periodAfter(anchor, 'month', end, end)).toEqual({
        start: end,
        end: d('2026-02-01T00:00:00Z'),
      });
    });

    it('starts where a longer first period ended, not inside it', () => {
      const end = d('2026-03-15T00:00:00Z');
      expect(periodAfter(anchor, 'month', end, d('2026-03-20T00:00:00Z'))).toEqual({
        start: end,
        end: d('2026-04-01T00:00:00Z'),
      });
    });

    it('is the anchored period once the previous end lies behind it', () => {
      const boundary = d('2026-02-01T00:00:00Z');
      expect(periodAfter(anchor, 'month', boundary, boundary)).toEqual({
        start: boundary,
        end: d('2026-03-01T00:00:00Z'),
      });
      expect(
        periodAfter(anchor, 'month', d('2026-01-10T00:00:00Z'), d('2026-03-05T00:00:00Z')),
      ).toEqual({ start: d('2026-03-01T00:00:00Z'), end: d('2026-04-01T00:00:00Z') });
      const trialEnd = d('2026-02-15T00:00:00Z');
      expect(periodAfter(trialEnd, 'month', trialEnd, d('2026-02-20T00:00:00Z'))).toEqual({
        start: trialEnd,
        end: d('2026-03-15T00:00:00Z'),
      });
    });
  });

  describe('from the ends of the date inputs’ range (DATE_INPUT_RANGE)', () => {
    const printable = (at: Date) => isRfc3339DateTime(at.toISOString());

    it('boundaries up to a hundred periods after the latest anchor print as RFC 3339', () => {
      const latest = d(DATE_INPUT_RANGE.max);
      for (const interval of BILLING_INTERVALS)
        for (const n of [1, 2, 12, 100]) {
          const boundary = periodBoundary(latest, interval, n);
          expect([interval, n, printable(boundary)]).toEqual([interval, n, true]);
        }
      // What the range keeps out: a year-9999 start whose month ends in year 10000.
      expect(periodBoundary(d('9999-12-31T00:00:00Z'), 'month', 1).toISOString()).toBe(
        '+010000-01-31T00:00:00.000Z',
      );
    });

    it('periods rolled to now from the earliest anchor, and windows before the latest, print', () => {
      const now = d('2026-05-17T08:00:00Z');
      const [earliest, latest] = [d(DATE_INPUT_RANGE.min), d(DATE_INPUT_RANGE.max)];
      for (const interval of BILLING_INTERVALS) {
        const firstEnd = periodBoundary(earliest, interval, 1);
        for (const { start, end } of [
          periodAfter(earliest, interval, firstEnd, now),
          periodContaining(latest, interval, now),
        ]) {
          expect(start <= now && now < end).toBe(true);
          expect([interval, printable(start), printable(end)]).toEqual([interval, true, true]);
        }
      }
    });
  });
});
