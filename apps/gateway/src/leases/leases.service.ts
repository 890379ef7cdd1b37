import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { every } from '@paygate/clock';
import type { CheckResponse } from '@paygate/contracts';
import { counter, gauge, hotCounter } from '@paygate/observability';
import { GatewayConfig } from '../config/gateway.config';
import { EntitlementClient } from '../decisions/entitlement.client';
import type { AdmissionRequest } from './admission-request';
import { LeasePool } from './lease-pool';

const SWEEP_INTERVAL_MS = 250;
/** Lease closes that failed are tried again this often, for at most CLOSE_RETRY_FOR_MS. */
const CLOSE_RETRY_MS = 1_000;
const CLOSE_RETRY_FOR_MS = 10 * 60_000;
const MAX_PENDING_CLOSES = 100_000;

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
  'Lease closes that failed and wait to be tried again',
);

interface PendingClose {
  units: number;
  reason: string;
  since: number;
  nextAt: number;
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
  private readonly pendingCloses = new Map<string, PendingClose>();

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
        release: async (leaseId, units, reason) => {
          await this.entitlement.release(leaseId, reason, units);
          leaseUnits.inc({ event: 'returned' }, units);
        },
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
        await this.retryCloses();
        heldUnits.set(this.pool.heldUnits());
      },
      (err) =>
        // The units stay reserved until the entitlement service's lease TTL returns them.
        this.logger.warn({ err: (err as Error).message }, 'returning idle lease units failed'),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopSweeps?.();
    const returned = await this.pool.releaseAll('gateway shutdown').catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'returning lease units on shutdown failed');
      return 0;
    });
    await this.retryCloses(true);
    this.logger.log(
      { returned, unclosed: this.pendingCloses.size },
      'lease units returned on shutdown',
    );
  }

  /** Closes a lease remotely; a failure is queued and tried again, never thrown at the pool. */
  private async close(leaseId: string, units: number, reason: string): Promise<void> {
    try {
      await this.entitlement.release(leaseId, reason, units, true);
      closes.inc({ outcome: 'closed' });
      if (units > 0) leaseUnits.inc({ event: 'returned' }, units);
    } catch (err) {
      closes.inc({ outcome: 'failed' });
      if (this.pendingCloses.size >= MAX_PENDING_CLOSES) {
        this.logger.error({ leaseId }, 'too many unacknowledged lease closes; one dropped');
        return;
      }
      const now = Date.now();
      const earlier = this.pendingCloses.get(leaseId);
      this.pendingCloses.set(leaseId, {
        units,
        reason,
        since: earlier?.since ?? now,
        nextAt: now + CLOSE_RETRY_MS,
      });
      pendingClosesGauge.set(this.pendingCloses.size);
      this.logger.warn(
        { err: (err as Error).message, leaseId },
        'closing a lease failed; retrying',
      );
    }
  }

  private async retryCloses(all = false): Promise<void> {
    const now = Date.now();
    for (const [leaseId, pending] of [...this.pendingCloses]) {
      if (!all && pending.nextAt > now) continue;
      this.pendingCloses.delete(leaseId);
      if (now - pending.since > CLOSE_RETRY_FOR_MS) {
        closes.inc({ outcome: 'abandoned' });
        this.logger.error({ leaseId }, 'lease close abandoned; the lease expires at its TTL');
        continue;
      }
      await this.close(leaseId, pending.units, pending.reason);
      const again = this.pendingCloses.get(leaseId);
      if (again) again.since = pending.since;
    }
    pendingClosesGauge.set(this.pendingCloses.size);
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

  /** Units of an admitted request that was not served; never lost if the call fails (TTL). */
  giveBack(
    grant: Pick<CheckResponse, 'leaseId' | 'customerId'>,
    units: number,
    reason: string,
  ): void {
    this.pool.giveBack(grant, units, reason).catch((err: unknown) => {
      this.logger.error(
        { err: (err as Error).message, leaseId: grant.leaseId },
        'returning lease units failed; they come back at the lease TTL',
      );
    });
  }

  /** A change to the customer's keys or plan: their leases go back, the next request asks. */
  async forgetCustomer(customerId: string, reason: string): Promise<void> {
    await this.pool.forgetCustomer(customerId, reason).catch((err: Error) => {
      // Forgotten all the same (no more admissions); the units come back at the lease TTL.
      this.logger.warn({ err: err.message, customerId }, 'returning lease units failed');
    });
  }
}
