import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Plan rate limits shared by every gateway replica (see TakeRateWindow): each row counts the
 * units handed out of one customer's fixed window for one feature, `used` never above the
 * limit the callers send. Windows are aligned by every gateway, so the window's start names
 * it; `window_end` is when it stops counting, and what the pruner deletes it by once it is
 * over. No foreign key to the customer: a row is counted on the hot path of every gateway
 * (a key check per take for nothing) and lives only as long as its window; a deleted
 * customer's windows go with the pruning.
 */
export class RateWindows1764500000021 implements MigrationInterface {
  name = 'RateWindows1764500000021';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "entitlement"."rate_windows" (
      "customer_id" uuid NOT NULL,
      "feature_key" text NOT NULL,
      "window_start" timestamptz NOT NULL,
      "window_end" timestamptz NOT NULL,
      "used" bigint NOT NULL CHECK ("used" >= 0),
      PRIMARY KEY ("customer_id", "feature_key", "window_start"),
      CHECK ("window_end" > "window_start"))`);
    // The pruner deletes windows that ended, oldest first.
    await q.query(
      `CREATE INDEX "rate_windows_window_end" ON "entitlement"."rate_windows" ("window_end")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Counts of windows only: dropped, gateways count afresh.
    await q.query(`DROP TABLE "entitlement"."rate_windows"`);
  }
}
