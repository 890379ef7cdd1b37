import type { ProblemInput } from '@paygate/problem-details';

/**
 * 429 when the customer has its plan's limit of requests in flight: a slot frees as soon as
 * one of them ends, so Retry-After is a second (not a 402: paying does not help).
 */
export function concurrencyLimited(feature: string, limit: number): ProblemInput {
  return {
    code: 'concurrency-limited',
    headers: { 'retry-after': '1' },
    extensions: { feature, limit },
  };
}
