import type { EntityManager } from 'typeorm';

/** A lease as a decision reserves it (see the Leases migration for the columns). */
export interface NewLease {
  id: string;
  customerId: string;
  subscriptionId: string;
  featureKey: string;
  periodStart: Date;
  requestId: string;
  /** Units reserved, of which `beyondUnits` are paid with `credits`. */
  units: number;
  credits: number;
  beyondUnits: number;
}

/** The SQL that opens leases on "entitlement"."leases" (settling them: LeaseSettlementService). */
export const leases = {
  async insertHeld(manager: EntityManager, lease: NewLease): Promise<void> {
    await manager.query(
      `INSERT INTO "entitlement"."leases"
         ("id", "customer_id", "subscription_id", "feature_key", "period_start", "request_id", "units", "credits",
          "beyond_units", "status")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'held')`,
      [
        lease.id,
        lease.customerId,
        lease.subscriptionId,
        lease.featureKey,
        lease.periodStart,
        lease.requestId,
        lease.units,
        lease.credits,
        lease.beyondUnits,
      ],
    );
  },
};
