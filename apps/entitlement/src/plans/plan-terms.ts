/** How a plan sells a feature: the values its columns and the operator API accept. */
export const FEATURE_KINDS = ['boolean', 'metered'] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];
export const LIMIT_POLICIES = ['block', 'credits', 'overage'] as const;
export type LimitPolicy = (typeof LIMIT_POLICIES)[number];
/** `billing` follows the subscription's billing period; `none` never resets. */
export const USAGE_PERIODS = ['billing', 'hour', 'day', 'week', 'month', 'year', 'none'] as const;
export type UsagePeriod = (typeof USAGE_PERIODS)[number];
