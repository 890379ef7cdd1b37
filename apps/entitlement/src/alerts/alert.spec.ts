import { crossedLowBalance, crossedUsageThresholds } from './alert';

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
});
