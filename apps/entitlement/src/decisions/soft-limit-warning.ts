import type { FeatureTerms } from '../plans/plans.repository';
import type { DecisionWarning } from './decision';

/** A warning once the feature's soft-limit share of its included units is used. */
export function softLimitWarning(
  feature: FeatureTerms,
  included: number,
  usedAfter: number,
  resetsAt: Date | null,
): DecisionWarning | undefined {
  if (!feature.soft_limit_percent || included === 0) return undefined;
  if (usedAfter * 100 < included * feature.soft_limit_percent) return undefined;
  return {
    code: 'soft-limit-reached',
    used: usedAfter,
    limit: included,
    until: resetsAt ?? undefined,
  };
}
