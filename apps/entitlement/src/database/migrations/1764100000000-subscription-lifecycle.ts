import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Billing periods that roll, scheduled cancels and plan changes, and the past-due grace period. */
export class SubscriptionLifecycle1764100000000 implements MigrationInterface {
  name = 'SubscriptionLifecycle1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."subscriptions"
      ADD COLUMN "billing_interval" text NOT NULL DEFAULT 'month'
        CHECK ("billing_interval" IN ('day', 'week', 'month', 'year')),
      ADD COLUMN "billing_anchor" timestamptz,
      ADD COLUMN "cancel_at_period_end" boolean NOT NULL DEFAULT false,
      ADD COLUMN "pending_plan_id" uuid REFERENCES "entitlement"."plans"("id"),
      ADD COLUMN "past_due_since" timestamptz,
      ADD COLUMN "grace_period_seconds" int NOT NULL DEFAULT 259200 CHECK ("grace_period_seconds" >= 0)`);
    await q.query(
      `UPDATE "entitlement"."subscriptions" SET "billing_anchor" = "current_period_start"`,
    );
    await q.query(
      `UPDATE "entitlement"."subscriptions" SET "past_due_since" = "updated_at" WHERE "status" = 'past_due'`,
    );
    await q.query(
      `ALTER TABLE "entitlement"."subscriptions" ALTER COLUMN "billing_anchor" SET NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."subscriptions"
      DROP COLUMN "billing_interval", DROP COLUMN "billing_anchor", DROP COLUMN "cancel_at_period_end",
      DROP COLUMN "pending_plan_id", DROP COLUMN "past_due_since", DROP COLUMN "grace_period_seconds"`);
  }
}
