import type { FeatureTerms } from '../plans/plans.repository';
import { softLimitWarning } from './soft-limit-warning';

const terms = (soft_limit_percent: number | null) => ({ soft_limit_percent }) as FeatureTerms;
const resets = new Date('2026-12-31T00:00:00.000Z');

describe('softLimitWarning', () => {
  it('warns from the soft-limit share of the included units on, with the numbers', () => {
    expect(softLimitWarning(terms(80), 100, 79, resets)).toBeUndefined();
    expect(softLimitWarning(terms(80), 100, 80, resets)).toEqual({
      code: 'soft-limit-reached',
      used: 80,
      limit: 100,
      until: resets,
    });
    expect(softLimitWarning(terms(80), 100, 120, null)).toEqual({
      code: 'soft-limit-reached',
      used: 120,
      limit: 100,
      until: undefined,
    });
  });

  it('never warns without a soft limit or without included units', () => {
    expect(softLimitWarning(terms(null), 100, 100, resets)).toBeUndefined();
    expect(softLimitWarning(terms(80), 0, 5, resets)).toBeUndefined();
  });
});
