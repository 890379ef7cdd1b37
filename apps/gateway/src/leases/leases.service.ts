import { status } from '@grpc/grpc-js';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { every } from '@paygate/clock';
import type { ChangeTransaction, CheckResponse } from '@paygate/contracts';
import { counter, gauge, hotCounter } from '@paygate/observability';
import { GatewayConfig } from '../config/gateway.config';
import { EntitlementClient, EntitlementUnavailableError } from '../decisions/entitlement.client';
import type { AdmissionRequest } from './admission-request';
import { CloseBatch } from './close-batch';
import { LeasePool } from './lease-pool';
import { type Attempt, RetriedCalls } from './retried-calls';

const SWEEP_INTERVAL_MS = 250;
/** Lease closes and give-backs that failed are tried again every second, for 10 minutes. */
const RETRY = { everyMs: 1_000, forMs: 10 * 60_000, max: 100_000 };
/**
 * Closes of used-up leases are sent together: a batch every 100 ms, of at most 500 (the
 * service takes CLOSE_LEASES_MAX).
 */
const CLOSE_BATCH = { delayMs: 100, max: 500 };

const leaseRequests = counter(
  'paygate_gateway_lease_requests_total',
  'Leases asked of the entitlement service, by outcome',
  ['outcome'],
);
const leaseUnits = counter(
  'paygate_gateway_lease_units_total',
  'Lease units granted to and returned by this replica',
  ['event'],
);
const failOpen = counter(
  'paygate_gateway_fail_open_total',
  'Requests of fail-open routes while the entitlement service could not answer, by outcome',
  ['outcome'],
);
const admissions = hotCounter(
  'paygate_gateway_admissions_total',
  'Admissions asked of the lease pool (metered and cost-0 requests)',
);
// Their share of admissions is what a renewal that comes too late costs in latency.
const admissionWaits = counter(
  'paygate_gateway_admission_waits_total',
  'Admissions that found no held lease with room and waited for a remote call',
);
const heldUnits = gauge('paygate_gateway_lease_units_held', 'Lease units held and not yet used');
const closes = counter(
  'paygate_gateway_lease_closes_total',
  'Leases closed with the entitlement service (served units reported), by outcome',
  ['outcome'],
);
const pendingClosesGauge = gauge(
  'paygate_gateway_lease_closes_pending',
  'Lease close calls (one lease, or a batch of used-up leases) that failed and wait to be tried again',
);
const releases = counter(
  'paygate_gateway_lease_releases_total',
  'Units of unserved requests given back to leases this replica no longer holds, by outcome',
  ['outcome'],
);
const pendingReleasesGauge = gauge(
  'paygate_gateway_lease_releases_pending',
  'Give-backs to closed leases that failed and wait to be tried again',
);

/** Calls that must land (closes, give-backs): their queue, metrics and what the logs say. */
interface MustLand {
  calls: RetriedCalls;
  total: ReturnType<typeof counter>;
  pending: ReturnType<typeof gauge>;
  /** The outcome counted when one lands. */
  landed: string;
  what: string;
  many: string;
  abandoned: string;
}

/** The gateway's lease pool, wired to the entitlement service, swept and drained on shutdown. */
@Injectable()
export class LeasesService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(LeasesService.name);
  private readonly pool: LeasePool;
  private readonly failOpen: { maxUnits: number; maxAgeMs: number };
  private stopSweeps?: () => void;
  /**
   * Closes the service has not acknowledged yet: until it has, the lease's served units could
   * come back to the balance at its TTL, so a failed close is tried again (not just logged).
   */
  private readonly closes: MustLand = {
    calls: new RetriedCalls(RETRY),
    total: closes,
    pending: pendingClosesGauge,
    landed: 'closed',
    what: 'closing a lease',
    many: 'lease closes',
    // Its served units come back to the balance at the lease's TTL if metering is that late.
    abandoned: 'lease close abandoned; the lease expires at its TTL',
  };
  /** Closes of used-up leases (nothing to give back), sent together. */
  private readonly usedUp = new CloseBatch((ids) => this.closeUsedUp(ids), CLOSE_BATCH);
  /**
   * The leases of each batch of closes kept to try again, by its key: counted in the metrics,
   * and named if it is given up.
   */
  private readonly keptBatches = new Map<string, string[]>();
  /**
   * Give-backs to leases this replica closed already: a closed lease never expires, so units
   * of an unserved request that do not reach it stay charged. Tried again like closes.
   */
  private readonly releases: MustLand = {
    calls: new RetriedCalls(RETRY),
    total: releases,
    pending: pendingReleasesGauge,
    landed: 'released',
    what: 'giving units back to a lease',
    many: 'give-backs',
    abandoned: 'give-back abandoned; the unserved request stays charged',
  };

  constructor(
    private readonly entitlement: EntitlementClient,
    @Inject(GatewayConfig) config: GatewayConfig,
  ) {
    this.failOpen = {
      maxUnits: config.FAIL_OPEN_MAX_UNITS,
      maxAgeMs: config.FAIL_OPEN_MAX_AGE_MS,
    };
    this.pool = new LeasePool(
      {
        check: async (request, paid) => {
          const grant = await this.entitlement.check(request, paid);
          leaseRequests.inc({ outcome: grant.allowed ? 'granted' : 'refused' });
          if (grant.allowed) leaseUnits.inc({ event: 'granted' }, grant.leaseUnits ?? 0);
          return grant;
        },
        release: (leaseId, units, reason) => this.release(leaseId, units, reason),
        close: (leaseId, units, reason) => this.close(leaseId, units, reason),
      },
      {
        maxUnits: config.LEASE_MAX_UNITS,
        aheadMs: config.LEASE_AHEAD_MS,
        idleMs: config.LEASE_IDLE_MS,
        maxAgeMs: config.LEASE_MAX_AGE_MS,
        renewAtShare: 0.25,
        onWait: () => admissionWaits.inc(),
      },
    );
  }

  onModuleInit(): void {
    this.stopSweeps = every(
      SWEEP_INTERVAL_MS,
      async () => {
        await this.pool.sweep();
        await this.retry();
        heldUnits.set(this.pool.heldUnits());
      },
      (err) =>
        // The units stay reserved until the entitlement service's lease TTL returns them.
        this.logger.warn({ err: (err as Error).message }, 'returning idle lease units failed'),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopSweeps?.();
    // From now on closes go out at once: those waiting for their batch, the pool's last.
    const draining = this.usedUp.drain();
    const returned = await this.pool.releaseAll('gateway shutdown').catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'returning lease units on shutdown failed');
      return 0;
    });
    // Every batch answered, so what failed is kept for the last retry pass below.
    await Promise.all([draining, this.usedUp.drain()]);
    await this.retry(true);
    this.logger.log(
      { returned, unclosed: this.closes.calls.size, unreleased: this.releases.calls.size },
      'lease units returned on shutdown',
    );
  }

  /**
   * Closes a lease remotely; a failure is queued and tried again, never thrown at the pool. A
   * lease used up (nothing to give back) waits for the next batch of such closes.
   */
  private async close(leaseId: string, units: number, reason: string): Promise<void> {
    if (units <= 0) return this.usedUp.add(leaseId);
    const attempt = await this.closes.calls.attempt(leaseId, async () => {
      await this.entitlement.release(leaseId, reason, units, true);
      if (units > 0) leaseUnits.inc({ event: 'returned' }, units);
    });
    this.tried(this.closes, leaseId, attempt);
  }

  /**
   * Closes a batch of used-up leases in one call, kept and tried again as a whole when it
   * fails (a close is applied once, so a batch sent twice changes nothing the second time).
   * An entitlement service older than CloseLeases (a rolling upgrade) is sent a close each.
   */
  private async closeUsedUp(ids: string[]): Promise<void> {
    // The key names the batch by its first lease (each lease is closed once); a space sets it
    // apart from the key of a close that gives units back.
    const key = `${ids[0]} batch`;
    const attempt = await this.closes.calls.attempt(key, async () => {
      try {
        await this.entitlement.closeLeases(ids);
      } catch (err) {
        const older =
          err instanceof EntitlementUnavailableError && err.code === status.UNIMPLEMENTED;
        if (!older) throw err;
        // A close is applied once: after a partial failure, sending them all again is safe.
        await Promise.all(ids.map((id) => this.entitlement.release(id, 'used up', 0, true)));
      }
    });
    this.keepBatch(key, ids, attempt);
    this.tried(this.closes, ids[0], attempt, ids);
  }

  /** Remembers the leases of a batch kept to try again (forgets them once it landed). */
  private keepBatch(key: string, ids: string[], attempt: Attempt): void {
    if (!attempt.landed && attempt.kept) this.keptBatches.set(key, ids);
    else this.keptBatches.delete(key);
  }

  /**
   * Gives units of an unserved request back to a lease this replica no longer holds; a
   * failure is queued and tried again. The give-back is named by an id of its own, made here
   * and kept by its retries, so a second try gives nothing back twice; not the request's id,
   * which a caller may send again with another request of the same lease.
   */
  private async release(leaseId: string, units: number, reason: string): Promise<void> {
    const releaseId = randomUUID();
    const attempt = await this.releases.calls.attempt(`${leaseId} ${releaseId}`, async () => {
      await this.entitlement.release(leaseId, reason, units, false, releaseId);
      leaseUnits.inc({ event: 'returned' }, units);
    });
    this.tried(this.releases, leaseId, attempt);
  }

  /**
   * Counts and logs one try of a close (of a batch: `leaseIds`, named when it is dropped) or
   * a give-back.
   */
  private tried(kind: MustLand, leaseId: string, attempt: Attempt, leaseIds?: string[]): void {
    const leases = leaseIds?.length ?? 1;
    kind.total.inc({ outcome: attempt.landed ? kind.landed : 'failed' }, leases);
    kind.pending.set(kind.calls.size);
    if (attempt.landed) return;
    const dropped = !attempt.kept && leaseIds ? { leaseIds } : {};
    const context = leases > 1 ? { leaseId, leases, ...dropped } : { leaseId };
    if (!attempt.kept)
      this.logger.error(context, `too many unacknowledged ${kind.many}; one dropped`);
    else
      this.logger.warn({ err: attempt.error.message, ...context }, `${kind.what} failed; retrying`);
  }

  /** Tries failed closes and give-backs again (all of them with `all`, at shutdown). */
  private async retry(all = false): Promise<void> {
    // A key is the lease id, then (a give-back) a space and its release id, or (a batch of
    // closes) ` batch`.
    const leaseOf = (key: string) => key.split(' ')[0];
    const leasesOf = (key: string) => this.keptBatches.get(key)?.length ?? 1;
    for (const kind of [this.closes, this.releases]) {
      const tried = (key: string, attempt: Attempt) => {
        const ids = this.keptBatches.get(key);
        if (ids) this.keepBatch(key, ids, attempt);
        this.tried(kind, leaseOf(key), attempt, ids);
      };
      for (const key of await kind.calls.retry(tried, all)) {
        kind.total.inc({ outcome: 'abandoned' }, leasesOf(key));
        // Each lease of a batch given up on is named: its served units may come back at TTL.
        const leaseIds = this.keptBatches.get(key);
        this.keptBatches.delete(key);
        this.logger.error(leaseIds ? { leaseIds } : { leaseId: leaseOf(key) }, kind.abandoned);
      }
      kind.pending.set(kind.calls.size);
    }
  }

  admit(request: AdmissionRequest): Promise<CheckResponse> {
    admissions.inc();
    return this.pool.admit(request);
  }

  /** See LeasePool.admitHeld: undefined when the request must wait for `admit`. */
  admitHeld(request: AdmissionRequest): CheckResponse | undefined {
    const admitted = this.pool.admitHeld(request);
    if (admitted) admissions.inc();
    return admitted;
  }

  /** See LeasePool.admitFailingOpen; bounded by FAIL_OPEN_MAX_UNITS and FAIL_OPEN_MAX_AGE_MS. */
  admitFailingOpen(request: AdmissionRequest): CheckResponse | undefined {
    const admitted = this.pool.admitFailingOpen(request, this.failOpen);
    failOpen.inc({ outcome: admitted ? 'admitted' : 'refused' });
    return admitted;
  }

  /**
   * Units of an admitted request that was not served: back to its lease, or to the ledger,
   * tried again for 10 minutes when the service cannot be reached.
   */
  giveBack(
    grant: Pick<CheckResponse, 'leaseId' | 'customerId'>,
    units: number,
    reason: string,
  ): void {
    // Failures are queued by release (see above); nothing else can fail here.
    void this.pool.giveBack(grant, units, reason);
  }

  /**
   * A change to the customer's keys or plan: their leases go back, the next request asks.
   * `change`: the change's transaction, when known (a lease already made with it is kept).
   */
  async forgetCustomer(
    customerId: string,
    reason: string,
    change?: ChangeTransaction,
  ): Promise<void> {
    await this.pool.forgetCustomer(customerId, reason, change).catch((err: Error) => {
      // Forgotten all the same (no more admissions); the units come back at the lease TTL.
      this.logger.warn({ err: err.message, customerId }, 'returning lease units failed');
    });
  }
}
