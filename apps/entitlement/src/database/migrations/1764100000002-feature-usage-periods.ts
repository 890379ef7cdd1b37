import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Included units per usage period, a soft-limit warning threshold and a rate limit per feature. */
export class FeatureUsagePeriods1764100000002 implements MigrationInterface {
  name = 'FeatureUsagePeriods1764100000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."plan_features"
      ADD COLUMN "usage_period" text NOT NULL DEFAULT 'billing'
        CHECK ("usage_period" IN ('billing', 'hour', 'day', 'week', 'month', 'year', 'none')),
      ADD COLUMN "soft_limit_percent" int CHECK ("soft_limit_percent" BETWEEN 1 AND 100),
      ADD COLUMN "rate_limit_requests" int CHECK ("rate_limit_requests" > 0),
      ADD COLUMN "rate_limit_window_seconds" int CHECK ("rate_limit_window_seconds" > 0),
      ADD CONSTRAINT "rate_limit_complete"
        CHECK (("rate_limit_requests" IS NULL) = ("rate_limit_window_seconds" IS NULL))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."plan_features"
      DROP CONSTRAINT "rate_limit_complete", DROP COLUMN "usage_period", DROP COLUMN "soft_limit_percent",
      DROP COLUMN "rate_limit_requests", DROP COLUMN "rate_limit_window_seconds"`);
  }
}
