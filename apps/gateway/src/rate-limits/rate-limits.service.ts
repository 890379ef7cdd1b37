import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { CheckResponse, RateLimit } from '@paygate/contracts';
import { counter } from '@paygate/observability';
import { GatewayConfig } from '../config/gateway.config';
import { EntitlementClient } from '../decisions/entitlement.client';
import type { RateLimitState } from './fixed-window-limiter';
import { SharedWindowLimiter } from './shared-window-limiter';

const limited = counter(
  'paygate_gateway_rate_limited_total',
  '429 answers by when they were decided',
  ['stage'],
);
const alone = counter(
  'paygate_gateway_rate_limit_unshared_total',
  'Requests counted by this replica alone: the entitlement service could not share the window',
);

/** How long a key's plan rate limit is trusted without a new decision confirming it. */
const POLICY_TTL_MS = 30_000;

interface CachedPolicy {
  customerId: string;
  policy: RateLimit;
  expiresMs: number;
}

/**
 * Plan rate limits at the edge, shared by every replica (SharedWindowLimiter). The policy
 * arrives with each decision; once a key's window is known to be full, it is refused before
 * any remote call (no lease reserved, nothing to release).
 */
@Injectable()
export class RateLimitsService implements OnModuleDestroy {
  private readonly logger = new Logger(RateLimitsService.name);
  private readonly limiter: SharedWindowLimiter;
  private unshared = false;
  private readonly policies = new Map<string, CachedPolicy>();
  private longestWindowMs = 60_000;
  private readonly sweeper = setInterval(() => this.sweep(Date.now()), 10_000).unref();

  constructor(
    entitlement: EntitlementClient,
    @Inject(GatewayConfig) config: Pick<GatewayConfig, 'RATE_LIMIT_SLICE_PERCENT'>,
  ) {
    this.limiter = new SharedWindowLimiter(
      (request) => entitlement.takeRateWindow(request),
      config.RATE_LIMIT_SLICE_PERCENT,
      (err) => {
        alone.inc();
        // Once per outage: every request would say it again.
        if (this.unshared) return;
        this.unshared = true;
        this.logger.warn(
          { err: (err as Error).message },
          'rate limit windows not shared: counting on this replica alone until the service answers',
        );
        setTimeout(() => (this.unshared = false), 30_000).unref();
      },
    );
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /**
   * A refusal decided from the cached policy, or undefined to ask the entitlement service.
   * `keyId` is the key's apiKeyId.
   */
  beforeDecision(keyId: string, feature: string, nowMs: number): RateLimitState | undefined {
    if (this.policies.size === 0) return undefined;
    const cached = this.policies.get(`${keyId}:${feature}`);
    if (!cached || cached.expiresMs <= nowMs) return undefined;
    const state = this.limiter.exhausted(cached.customerId, feature, cached.policy, nowMs);
    if (state) limited.inc({ stage: 'before-decision' });
    return state;
  }

  /** Counts an allowed request against its plan's limit; undefined when the plan has none. */
  afterDecision(
    keyId: string,
    feature: string,
    decision: CheckResponse,
    nowMs: number,
  ): undefined | Promise<RateLimitState> {
    const policy = decision.rateLimit;
    if (!policy || !policy.requests || !policy.windowSeconds) {
      // At once (no promise, no key string): most plans set no rate limit.
      if (this.policies.size > 0) this.policies.delete(`${keyId}:${feature}`);
      return undefined;
    }
    return this.take(`${keyId}:${feature}`, decision, feature, policy, nowMs);
  }

  private async take(
    key: string,
    decision: CheckResponse,
    feature: string,
    policy: RateLimit,
    nowMs: number,
  ): Promise<RateLimitState> {
    this.policies.set(key, {
      customerId: decision.customerId,
      policy,
      expiresMs: nowMs + POLICY_TTL_MS,
    });
    this.longestWindowMs = Math.max(this.longestWindowMs, policy.windowSeconds * 1000);
    const state = await this.limiter.take(decision.customerId, feature, policy, nowMs);
    if (!state.allowed) limited.inc({ stage: 'after-decision' });
    return state;
  }

  private sweep(nowMs: number): void {
    this.limiter.sweep(nowMs, this.longestWindowMs);
    for (const [key, cached] of this.policies)
      if (cached.expiresMs <= nowMs) this.policies.delete(key);
  }
}
