import type { ProblemInput } from '@paygate/problem-details';
import { rateLimitHeaders, type RateLimitState } from './fixed-window-limiter';

/** 429 with Retry-After and the RateLimit fields; distinct from quota (402). */
export function rateLimited(feature: string, state: RateLimitState): ProblemInput {
  return {
    code: 'rate-limited',
    headers: { 'retry-after': String(state.resetSeconds), ...rateLimitHeaders(feature, state) },
    extensions: {
      feature,
      limit: state.limit,
      resetsAt: new Date(Date.now() + state.resetSeconds * 1000).toISOString(),
    },
  };
}
