import { crossedLowBalance, crossedUsageThresholds, thresholdAlerts } from './alert';

describe('alert thresholds', () => {
  it('reports each usage threshold once, when it is crossed', () => {
    expect(crossedUsageThresholds([80, 100], 10, 7, 8)).toEqual([80]);
    expect(crossedUsageThresholds([80, 100], 10, 8, 9)).toEqual([]);
    expect(crossedUsageThresholds([80, 100], 10, 7, 12)).toEqual([80, 100]);
    expect(crossedUsageThresholds([80, 100], 0, 0, 5)).toEqual([]);
  });

  it('reports a low balance when it falls to or below the threshold', () => {
    expect(crossedLowBalance(1, 2, 1)).toBe(true);
    expect(crossedLowBalance(1, 1, 0)).toBe(false);
    expect(crossedLowBalance(10, 50, 3)).toBe(true);
  });

  it('builds the alerts of a change, with a balance past 2^53 stated exactly', () => {
    const change = {
      customerId: 'c',
      feature: 'requests',
      included: 10,
      usedBefore: 7,
      units: 1,
      windowStart: new Date('2026-12-01T00:00:00Z'),
    };
    const thresholds = { usagePercents: [80], lowBalance: 5 };
    expect(thresholdAlerts(thresholds, change)).toEqual([
      {
        type: 'usage.threshold',
        customerId: 'c',
        feature: 'requests',
        percent: 80,
        used: 8,
        limit: 10,
        windowStart: '2026-12-01T00:00:00.000Z',
      },
    ]);
    const after = -(2n ** 60n);
    const overdrawn = { ...change, units: 0, balance: { before: 6n, after } };
    expect(thresholdAlerts(thresholds, overdrawn)).toEqual([
      { type: 'balance.low', customerId: 'c', balance: after.toString(), threshold: 5 },
    ]);
    expect(thresholdAlerts({ usagePercents: [], lowBalance: undefined }, overdrawn)).toEqual([]);
  });
});
