import { retryAfterSeconds } from './problem-errors';

export interface RetryOptions {
  /** Attempts in all, the first included (default 3; 1 turns retries off). */
  attempts?: number;
  /** First backoff, doubled each attempt (default 200 ms). */
  baseDelayMs?: number;
  /** Longest single wait, Retry-After included (default 30 s). */
  maxDelayMs?: number;
}

/** Methods a server must treat as idempotent (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Statuses worth asking again: rate limited, or the service is briefly unavailable. */
const RETRYABLE_STATUSES = new Set([429, 503]);

/**
 * Whether a request may be sent again at all: idempotent methods, or any method carrying an
 * Idempotency-Key (the server then runs it once however often it arrives).
 */
export function mayRepeat(method: string, headers: Headers): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase()) || headers.has('idempotency-key');
}

/**
 * How long to wait before the next attempt, or undefined to give up. Never for 401/402/403
 * and other answers that asking again cannot change; on 429/503 the server's Retry-After,
 * else exponential backoff with full jitter; a failed connection is retried the same way.
 */
export function nextDelayMs(
  attempt: number,
  outcome: { status: number; retryAfter: string | null } | 'network-error',
  options: Required<RetryOptions>,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= options.attempts) return undefined;
  if (outcome !== 'network-error' && !RETRYABLE_STATUSES.has(outcome.status)) return undefined;
  const told = outcome === 'network-error' ? undefined : retryAfterSeconds(outcome.retryAfter);
  if (told !== undefined) {
    const ms = told * 1000;
    // Waiting longer than the caller allows is pointless: give the error back instead.
    return ms <= options.maxDelayMs ? ms : undefined;
  }
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}
