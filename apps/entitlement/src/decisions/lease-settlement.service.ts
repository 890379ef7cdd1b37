import { Injectable } from '@nestjs/common';
import { toSafeInt } from '@paygate/database';
import type { EntityManager } from 'typeorm';
import { GrantsService } from '../credits/grants.service';
import { LedgerService } from '../credits/ledger.service';
import { FeatureUsageService } from './feature-usage.service';

interface LeaseRow {
  id: string;
  customer_id: string;
  subscription_id: string;
  feature_key: string;
  period_start: Date;
  units: string;
  credits: string;
  status: 'held' | 'settled' | 'released';
}

/**
 * Closes leases. Locks are taken in the same order as CheckUseCase (lease, usage counter,
 * balance) so a release never deadlocks against a concurrent check of the same customer.
 */
@Injectable()
export class LeaseSettlementService {
  constructor(
    private readonly ledger: LedgerService,
    private readonly usage: FeatureUsageService,
    private readonly grants: GrantsService,
  ) {}

  /** Gives a held lease's units and credits back; false if it was already closed or is unknown. */
  async release(manager: EntityManager, leaseId: string, reason: string): Promise<boolean> {
    const lease = await this.lockHeld(manager, leaseId);
    if (!lease) return false;
    await manager.query(
      `UPDATE "entitlement"."leases" SET "status" = 'released', "closed_at" = now() WHERE "id" = $1`,
      [leaseId],
    );
    await this.usage.lock(manager, lease.subscription_id, lease.feature_key, lease.period_start);
    await this.usage.add(
      manager,
      lease.subscription_id,
      lease.feature_key,
      lease.period_start,
      -toSafeInt(lease.units),
    );
    const credits = toSafeInt(lease.credits);
    if (credits > 0) {
      await this.ledger.append(manager, {
        customerId: lease.customer_id,
        type: 'release',
        amount: credits,
        idempotencyKey: `lease:${leaseId}:release`,
        leaseId,
        description: reason,
      });
      await this.grants.restore(manager, lease.customer_id, leaseId, credits);
    }
    return true;
  }

  /**
   * Marks a lease as consumed by metered usage and returns how many of its units that usage
   * may count as already paid for: a held lease's units (its cost was taken when it was
   * reserved), and again a settled lease's units, so a second report of the same usage is
   * never charged twice. A released or unknown lease covers nothing: that usage is charged.
   */
  async settle(manager: EntityManager, leaseId: string): Promise<number> {
    const [lease]: LeaseRow[] = await manager.query(
      `SELECT * FROM "entitlement"."leases" WHERE "id" = $1 FOR UPDATE`,
      [leaseId],
    );
    if (!lease || lease.status === 'released') return 0;
    if (lease.status === 'held') {
      await manager.query(
        `UPDATE "entitlement"."leases" SET "status" = 'settled', "closed_at" = now() WHERE "id" = $1`,
        [leaseId],
      );
    }
    return toSafeInt(lease.units);
  }

  private async lockHeld(manager: EntityManager, leaseId: string): Promise<LeaseRow | undefined> {
    const [lease]: LeaseRow[] = await manager.query(
      `SELECT * FROM "entitlement"."leases" WHERE "id" = $1 AND "status" = 'held' FOR UPDATE`,
      [leaseId],
    );
    return lease;
  }
}
