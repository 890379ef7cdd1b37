import type { PlanFeatureDto } from './plan.dto';

/** The plan `npm start` seeds for its demo customer (scripts/seed-demo.ts). */
export const DEMO_PLAN = { key: 'pay-as-you-go', name: 'Pay as you go' } as const;

/**
 * The demo's one priced feature, also what the tests seed unless they say otherwise:
 * `requests` (counted by the api_requests meter) includes nothing and draws 1 credit a request.
 */
export function requestsFeature(overrides: Partial<PlanFeatureDto> = {}): PlanFeatureDto {
  return {
    key: 'requests',
    kind: 'metered',
    meterKey: 'api_requests',
    includedUnits: 0,
    limitPolicy: 'credits',
    unitPrice: 1,
    ...overrides,
  };
}
