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

  it('never resets for none', () => {
    expect(usageWindow('none', subscription, now)).toEqual({ start: new Date(0), end: null });
  });
});
