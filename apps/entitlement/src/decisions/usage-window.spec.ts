import { usageWindow } from './usage-window';

const subscription = {
  billingAnchor: new Date('2026-01-15T08:30:00Z'),
  periodStart: new Date('2026-11-15T08:30:00Z'),
  periodEnd: new Date('2026-12-15T08:30:00Z'),
};
const now = new Date('2026-11-24T21:10:00Z');

describe('usageWindow', () => {
  it('follows the billing period by default', () => {
    expect(usageWindow('billing', subscription, now)).toEqual({
      start: subscription.periodStart,
      end: subscription.periodEnd,
    });
  });

  it('anchors hours, days and months at the billing anchor', () => {
    expect(usageWindow('hour', subscription, now)).toEqual({
      start: new Date('2026-11-24T20:30:00Z'),
      end: new Date('2026-11-24T21:30:00Z'),
    });
    expect(usageWindow('day', subscription, now)).toEqual({
      start: new Date('2026-11-24T08:30:00Z'),
      end: new Date('2026-11-25T08:30:00Z'),
    });
    expect(usageWindow('month', subscription, now).start).toEqual(new Date('2026-11-15T08:30:00Z'));
  });

  it("counts a trial's days and months apart from the paid ones after its end", () => {
    // A trial's end is the billing anchor; the windows during the trial lie before it.
    const trial = {
      billingAnchor: new Date('2026-02-15T00:00:00Z'),
      periodStart: new Date('2026-02-01T09:00:00Z'),
      periodEnd: new Date('2026-02-15T00:00:00Z'),
    };
    const during = new Date('2026-02-03T13:00:00Z');
    expect(usageWindow('day', trial, during)).toEqual({
      start: new Date('2026-02-03T00:00:00Z'),
      end: new Date('2026-02-04T00:00:00Z'),
    });
    expect(usageWindow('month', trial, during)).toEqual({
      start: new Date('2026-01-15T00:00:00Z'),
      end: trial.billingAnchor,
    });
    expect(usageWindow('day', trial, new Date('2026-02-15T00:00:00Z')).start).toEqual(
      trial.billingAnchor,
    );
  });

  it('never resets for none', () => {
    expect(usageWindow('none', subscription, now)).toEqual({ start: new Date(0), end: null });
  });
});
