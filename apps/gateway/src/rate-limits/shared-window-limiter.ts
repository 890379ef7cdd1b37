import type { RateLimit, TakeRateWindowRequest, TakeRateWindowResponse } from '@paygate/contracts';
import { FixedWindowLimiter, type RateLimitState } from './fixed-window-limiter';

/** The entitlement service's TakeRateWindow (EntitlementClient.takeRateWindow). */
export type TakeRateWindow = (request: TakeRateWindowRequest) => Promise<TakeRateWindowResponse>;

/** What this replica holds of one customer's window for one feature. */
interface Slice {
  startMs: number;
  /** Units of the window this replica took, and how many of them it admitted. */
  taken: number;
  admitted: number;
  /** Units every replica had taken of the window at the service's last answer. */
  takenByAll: number;
  /** The service handed out the whole window: nothing more to take until the next one. */
  full: boolean;
  /** Units the next take asks for: doubling from 1 up to the largest slice. */
  nextUnits: number;
  /** The take in flight: requests that find no unit wait for it instead of asking again. */
  taking?: Promise<void>;
}

/**
 * Plan rate limits shared by every gateway replica. The entitlement service counts each
 * window's units for all replicas together (TakeRateWindow) and never hands out more than the
 * limit; a replica takes the window in slices and admits from them locally, so most requests
 * make no remote call. Windows are fixed and aligned to the epoch, so every replica agrees on
 * them. Bounds, per customer, feature and window: never more than the limit is admitted across
 * replicas; a request may be refused while other replicas still hold unadmitted units of their
 * last slice, at most (N − 1) × (largest slice − 1) of them, where the largest slice is
 * `slicePercent` of the limit (at least 1). While the service cannot answer, each replica
 * counts alone (FixedWindowLimiter): up to N × the limit, as before sharing.
 */
export class SharedWindowLimiter {
  private readonly slices = new Map<string, Slice>();
  /** Counts the requests admitted while the service could not answer. */
  private readonly alone = new FixedWindowLimiter();

  constructor(
    private readonly takeWindow: TakeRateWindow,
    private readonly slicePercent: number,
    private readonly onUnavailable: (err: unknown) => void = () => undefined,
  ) {}

  /** Counts one request against the customer's window; refuses it when the window is full. */
  async take(
    customerId: string,
    feature: string,
    policy: RateLimit,
    nowMs: number,
  ): Promise<RateLimitState> {
    const key = `${customerId}:${feature}`;
    const startMs = windowStart(policy, nowMs);
    for (;;) {
      let slice = this.slices.get(key);
      if (!slice || slice.startMs !== startMs) {
        slice = { startMs, taken: 0, admitted: 0, takenByAll: 0, full: false, nextUnits: 1 };
        this.slices.set(key, slice);
      }
      if (slice.admitted < slice.taken) {
        slice.admitted += 1;
        return state(slice, policy, nowMs, true);
      }
      if (slice.full) return state(slice, policy, nowMs, false);
      const current = slice;
      current.taking ??= this.refill(current, customerId, feature, policy).finally(() => {
        current.taking = undefined;
      });
      try {
        await current.taking;
      } catch (err) {
        this.onUnavailable(err);
        return this.alone.take(key, policy, nowMs);
      }
    }
  }

  /** A refusal when this replica knows the window is full, without counting anything. */
  exhausted(
    customerId: string,
    feature: string,
    policy: RateLimit,
    nowMs: number,
  ): RateLimitState | undefined {
    const key = `${customerId}:${feature}`;
    const slice = this.slices.get(key);
    if (
      slice &&
      slice.startMs === windowStart(policy, nowMs) &&
      slice.full &&
      slice.admitted >= slice.taken
    )
      return state(slice, policy, nowMs, false);
    return this.alone.exhausted(key, policy, nowMs);
  }

  /** Forgets windows that have ended (called periodically; memory bounded by activity). */
  sweep(nowMs: number, longestWindowMs: number): void {
    for (const [key, slice] of this.slices) {
      if (slice.startMs + longestWindowMs <= nowMs && !slice.taking) this.slices.delete(key);
    }
    this.alone.sweep(nowMs, longestWindowMs);
  }

  get size(): number {
    return this.slices.size + this.alone.size;
  }

  private async refill(
    slice: Slice,
    customerId: string,
    feature: string,
    policy: RateLimit,
  ): Promise<void> {
    const largest = Math.max(1, Math.ceil((policy.requests * this.slicePercent) / 100));
    const units = Math.min(slice.nextUnits, largest, policy.requests);
    const answer = await this.takeWindow({
      customerId,
      feature,
      windowStartMs: slice.startMs,
      windowSeconds: policy.windowSeconds,
      limit: policy.requests,
      units,
    });
    slice.taken += answer.granted;
    slice.takenByAll = Math.max(slice.takenByAll, answer.used);
    slice.full = answer.granted === 0 || answer.used >= policy.requests;
    slice.nextUnits = Math.min(largest, units * 2);
  }
}

function windowStart(policy: RateLimit, nowMs: number): number {
  const windowMs = policy.windowSeconds * 1000;
  return nowMs - (nowMs % windowMs);
}

/**
 * What the RateLimit fields say: `remaining` counts what is left of the window for everyone
 * (as of the service's last answer) plus what this replica holds unadmitted.
 */
function state(slice: Slice, policy: RateLimit, nowMs: number, allowed: boolean): RateLimitState {
  const windowMs = policy.windowSeconds * 1000;
  const held = slice.taken - slice.admitted;
  return {
    allowed,
    limit: policy.requests,
    remaining: Math.max(0, policy.requests - slice.takenByAll + held),
    resetSeconds: Math.max(1, Math.ceil((slice.startMs + windowMs - nowMs) / 1000)),
    windowSeconds: policy.windowSeconds,
  };
}
