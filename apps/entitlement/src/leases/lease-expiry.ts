import { Inject, Injectable } from '@nestjs/common';
import { Clock, PeriodicTask } from '@paygate/clock';
import { counter } from '@paygate/observability';
import { DataSource } from 'typeorm';
import { EntitlementConfig } from '../config/entitlement.config';
import { LeaseSettlementService } from './lease-settlement.service';
import { leases } from './leases.repository';

const LEASES_PER_SWEEP = 1000;
const expired = counter('paygate_leases_expired_total', 'Held leases released for being too old');
const failed = counter(
  'paygate_leases_expiry_failures_total',
  'Leases the expiry sweep could not release (each tried again next sweep; the others go on)',
);

/**
 * Returns the units of leases nobody closed: a gateway that crashed, or a decision whose
 * caller gave up (deadline) after it had reserved. A lease its gateway closed never expires:
 * its open units were served and wait for their usage events, however late metering is (a
 * stalled meter must not make served requests free). Usage that arrives later for an expired
 * lease is charged as ordinary usage (settle finds it released), so nothing is lost and
 * nothing is counted twice; see docs/decisions-and-leases.md for the bound this leaves.
 */
@Injectable()
export class LeaseExpiry extends PeriodicTask {
  protected readonly failure = 'lease expiry failed';

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly settlement: LeaseSettlementService,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(EntitlementConfig)
    private readonly config: Pick<
      EntitlementConfig,
      'LEASE_TTL_SECONDS' | 'LEASE_EXPIRY_SWEEP_SECONDS'
    >,
  ) {
    super();
  }

  protected get intervalMs(): number {
    return this.config.LEASE_EXPIRY_SWEEP_SECONDS * 1000;
  }

  protected runOnce(): Promise<number> {
    return this.sweep();
  }

  /** Releases held leases older than the TTL, each in its own short transaction. */
  async sweep(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - this.config.LEASE_TTL_SECONDS * 1000);
    const due = await leases.expiring(this.dataSource.manager, cutoff, LEASES_PER_SWEEP);
    let released = 0;
    const failures: { leaseId: string; err: unknown }[] = [];
    for (const id of due) {
      // Listed without a lock: expire() looks again under it, as the gateway may have closed
      // the lease since (served units must not come back).
      try {
        const done = await this.dataSource.transaction((manager) =>
          this.settlement.expire(manager, id),
        );
        if (done) released += 1;
      } catch (err) {
        // One lease the database refuses must not keep every later one (oldest first) held
        // for good: it is logged and tried again next sweep, and the rest are released.
        failures.push({ leaseId: id, err });
      }
    }
    if (failures.length > 0) {
      failed.inc(failures.length);
      // One line per sweep, however many failed (a database gone mid-sweep fails them all).
      this.logger.error(
        {
          err: failures[0].err,
          failed: failures.length,
          leaseIds: failures.slice(0, 10).map((f) => f.leaseId),
        },
        'leases could not be expired: tried again next sweep',
      );
    }
    expired.inc(released);
    if (released > 0) this.logger.log({ released }, 'expired leases released');
    return released;
  }
}
