import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import type { CheckResponse } from '@paygate/contracts';
import { counter, gauge } from '@paygate/observability';
import { randomUUID } from 'node:crypto';
import { GatewayConfig } from '../config/gateway.config';
import { EntitlementClient } from '../decisions/entitlement.client';
import {
  type ConcurrencyRefusal,
  type ConcurrencySlot,
  SharedConcurrencyLimiter,
} from './shared-concurrency-limiter';

const limited = counter(
  'paygate_gateway_concurrency_limited_total',
  '429 concurrency-limited answers: the plan allows no more requests in flight at once',
);
const alone = counter(
  'paygate_gateway_concurrency_unshared_total',
  'Requests counted against a concurrency limit by this replica alone: the entitlement service could not share it',
);
const inFlight = gauge(
  'paygate_gateway_concurrency_in_flight',
  'Requests under a plan concurrency limit in flight on this replica',
);

/** The release of a request that holds no slot: there is nothing to give back. */
export const NOTHING_TO_RELEASE = (): void => undefined;

/** A request that needs no slot: its plan has no concurrency limit for the feature. */
const UNLIMITED: ConcurrencySlot = { allowed: true, release: NOTHING_TO_RELEASE };

/**
 * Plan concurrency limits at the edge, shared by every replica (SharedConcurrencyLimiter): the
 * limit arrives with each decision; a slot is taken once the request is allowed and given back
 * when its response ends, however it ends.
 */
@Injectable()
export class ConcurrencyLimitsService implements OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger(ConcurrencyLimitsService.name);
  private readonly limiter: SharedConcurrencyLimiter;
  private unshared = false;
  private readonly refreshMs: number;
  private readonly refresher: NodeJS.Timeout;

  constructor(
    entitlement: EntitlementClient,
    @Inject(GatewayConfig)
    config: Pick<GatewayConfig, 'CONCURRENCY_SPARE_PERCENT' | 'CONCURRENCY_HOLD_SECONDS'>,
  ) {
    this.limiter = new SharedConcurrencyLimiter((request) => entitlement.holdConcurrency(request), {
      // One id per process: its holds are its own, and expire if it dies.
      holder: `gateway-${randomUUID()}`,
      sparePercent: config.CONCURRENCY_SPARE_PERCENT,
      holdSeconds: config.CONCURRENCY_HOLD_SECONDS,
      onUnavailable: (err) => this.unavailable(err),
    });
    // A third of the hold: two refreshes may fail before the service stops counting a hold.
    this.refreshMs = (config.CONCURRENCY_HOLD_SECONDS * 1000) / 3;
    this.refresher = setInterval(() => void this.refresh(), this.refreshMs).unref();
  }

  /**
   * A slot for an allowed request, or a refusal when the customer has its limit in flight. A
   * plan without a concurrency limit gets the no-op slot at once, without a promise.
   */
  acquire(
    decision: CheckResponse,
    feature: string,
  ): ConcurrencySlot | Promise<ConcurrencySlot | ConcurrencyRefusal> {
    const limit = decision.concurrencyLimit ?? 0;
    if (!limit) return UNLIMITED;
    return this.acquireLimited(decision, feature, limit);
  }

  private async acquireLimited(
    decision: CheckResponse,
    feature: string,
    limit: number,
  ): Promise<ConcurrencySlot | ConcurrencyRefusal> {
    const outcome = await this.limiter.acquire(decision.customerId, feature, limit);
    if (!outcome.allowed) {
      limited.inc();
      return outcome;
    }
    inFlight.inc();
    return {
      allowed: true,
      release: () => {
        inFlight.dec();
        outcome.release();
      },
    };
  }

  onModuleDestroy(): void {
    clearInterval(this.refresher);
  }

  /** Other replicas may use this one's slots as soon as it stops. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.refresher);
    await this.limiter.releaseAll();
  }

  private async refresh(): Promise<void> {
    await this.limiter.refresh(this.refreshMs);
  }

  private unavailable(err: unknown): void {
    alone.inc();
    // Once per outage: every request would say it again.
    if (this.unshared) return;
    this.unshared = true;
    this.logger.warn(
      { err: (err as Error).message },
      'concurrency limits not shared: counting on this replica alone until the service answers',
    );
    setTimeout(() => (this.unshared = false), 30_000).unref();
  }
}
