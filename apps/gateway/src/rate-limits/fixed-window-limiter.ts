import type { RateLimit } from '@paygate/contracts';

export interface RateLimitState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the current window ends (and the limit is whole again). */
  resetSeconds: number;
  windowSeconds: number;
}

interface Window {
  startMs: number;
  used: number;
}

/**
 * Fixed windows aligned to multiples of the window length since the epoch, so every replica
 * agrees on where a window starts. State is per process: with N replicas behind a balancer
 * that spreads one customer's requests, a customer can reach up to N × the limit per window
 * (routing a customer to one replica keeps the bound at 1 ×).
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, Window>();

  /** Counts one request against the key's window; refuses it when the window is full. */
  take(key: string, policy: RateLimit, nowMs: number): RateLimitState {
    const windowMs = policy.windowSeconds * 1000;
    const startMs = nowMs - (nowMs % windowMs);
    let window = this.windows.get(key);
    if (!window || window.startMs !== startMs) {
      window = { startMs, used: 0 };
      this.windows.set(key, window);
    }
    const allowed = window.used < policy.requests;
    if (allowed) window.used += 1;
    return {
      allowed,
      limit: policy.requests,
      remaining: policy.requests - window.used,
      resetSeconds: Math.max(1, Math.ceil((startMs + windowMs - nowMs) / 1000)),
      windowSeconds: policy.windowSeconds,
    };
  }

  /** Whether a request would be refused now, without counting it. */
  exhausted(key: string, policy: RateLimit, nowMs: number): RateLimitState | undefined {
    const windowMs = policy.windowSeconds * 1000;
    const startMs = nowMs - (nowMs % windowMs);
    const window = this.windows.get(key);
    if (!window || window.startMs !== startMs || window.used < policy.requests) return undefined;
    return {
      allowed: false,
      limit: policy.requests,
      remaining: 0,
      resetSeconds: Math.max(1, Math.ceil((startMs + windowMs - nowMs) / 1000)),
      windowSeconds: policy.windowSeconds,
    };
  }

  /** Forgets windows that have ended (called periodically; keeps memory bounded by activity). */
  sweep(nowMs: number, longestWindowMs: number): void {
    for (const [key, window] of this.windows) {
      if (window.startMs + longestWindowMs <= nowMs) this.windows.delete(key);
    }
  }

  get size(): number {
    return this.windows.size;
  }
}

/**
 * The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers, structured fields), named
 * after the feature: `RateLimit-Policy: "requests";q=600;w=60` and `RateLimit: "requests";r=12;t=30`.
 */
export function rateLimitHeaders(name: string, state: RateLimitState): Record<string, string> {
  const id = `"${name.replace(/["\\]/g, '')}"`;
  return {
    'ratelimit-policy': `${id};q=${state.limit};w=${state.windowSeconds}`,
    ratelimit: `${id};r=${Math.max(0, state.remaining)};t=${state.resetSeconds}`,
  };
}
