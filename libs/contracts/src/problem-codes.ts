/** Stable problem codes (ARCHITECTURE.md §3). The registry in @paygate/problem-details maps each. */
export const PROBLEM_CODES = [
  'unauthenticated',
  'forbidden',
  'subscription-expired',
  'subscription-past-due',
  'account-suspended',
  'payment-pending',
  'insufficient-credits',
  'quota-exhausted',
  'feature-not-in-plan',
  'rate-limited',
  'validation-failed',
  'not-found',
  'conflict',
  'payload-too-large',
  'unsupported-media-type',
  'method-not-allowed',
  'bad-request',
  'request-timeout',
  'uri-too-long',
  'request-header-fields-too-large',
  'not-implemented',
  'entitlement-unavailable',
  'service-unavailable',
  'upstream-unavailable',
  'upstream-timeout',
  'internal-error',
  // Append only: billing links carry a code's index (apps/entitlement/src/billing).
  'payment-invalid',
  'payment-expired',
  'payment-underpaid',
  'payment-replayed',
  'payment-unavailable',
  'payment-required',
  'concurrency-limited',
  'customer-blocked',
  'expectation-failed',
  'http-version-not-supported',
] as const;

export type ProblemCode = (typeof PROBLEM_CODES)[number];

export function isProblemCode(value: string): value is ProblemCode {
  return (PROBLEM_CODES as readonly string[]).includes(value);
}
