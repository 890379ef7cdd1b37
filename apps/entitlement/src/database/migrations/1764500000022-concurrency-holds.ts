import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Plan concurrency limits shared by every gateway replica (see HoldConcurrency): a plan feature
 * may cap the requests in flight at once for a customer, and each row of concurrency_holds is
 * the share of that cap one gateway (the holder) holds until `expires_at`, so a replica that
 * dies stops holding once its hold runs out. Holds of every holder, unexpired, never sum past
 * the limit the callers send. No foreign key to the customer: a hold is set on the hot path of
 * every gateway (a key check per call for nothing) and lives only as long as its hold; a deleted
 * customer's holds expire and go with the pruning.
 */
export class ConcurrencyHolds1764500000022 implements MigrationInterface {
  name = 'ConcurrencyHolds1764500000022';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."plan_features"
      ADD COLUMN "concurrency_limit" int CHECK ("concurrency_limit" > 0)`);
    await q.query(`CREATE TABLE "entitlement"."concurrency_holds" (
      "customer_id" uuid NOT NULL,
      "feature_key" text NOT NULL,
      "holder" text NOT NULL,
      "slots" int NOT NULL CHECK ("slots" > 0),
      "expires_at" timestamptz NOT NULL,
      PRIMARY KEY ("customer_id", "feature_key", "holder"))`);
    // The pruner deletes expired holds, oldest first.
    await q.query(
      `CREATE INDEX "concurrency_holds_expires_at" ON "entitlement"."concurrency_holds" ("expires_at")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Holds last seconds only: dropped, gateways hold afresh.
    await q.query(`DROP TABLE "entitlement"."concurrency_holds"`);
    await q.query(`ALTER TABLE "entitlement"."plan_features" DROP COLUMN "concurrency_limit"`);
  }
}
