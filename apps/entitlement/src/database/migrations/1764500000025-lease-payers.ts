import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Included units given back to a period whose counter is above its included units re-include
 * the credit-paid units of that period's leases, oldest first, and refund their credits
 * (LeaseSettlementService.giveBack). An index on those "payers": the leases of a counter that
 * took credits and have paid units not yet refunded, in age order, so a give-back finds the
 * first few without reading the customer's other leases. Partial: a lease leaves it once its
 * paid units are all given back or re-included, and customers that never paid have none in it.
 * No new column: what a lease paid and gave back is in its row already.
 */
export class LeasePayers1764500000025 implements MigrationInterface {
  name = 'LeasePayers1764500000025';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "leases_paid_in_period" ON "entitlement"."leases"
      ("subscription_id", "feature_key", "period_start", "created_at", "id")
      WHERE "credits" > 0 AND "returned" < "beyond_units"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "entitlement"."leases_paid_in_period"`);
  }
}
