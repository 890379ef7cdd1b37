import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Subscriptions whose payment is being processed: 402 payment-pending until it settles. */
export class SubscriptionIncomplete1764300000001 implements MigrationInterface {
  name = 'SubscriptionIncomplete1764300000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "entitlement"."subscriptions" DROP CONSTRAINT "subscriptions_status_check"`,
    );
    await q.query(`ALTER TABLE "entitlement"."subscriptions" ADD CONSTRAINT "subscriptions_status_check"
      CHECK ("status" IN ('trialing', 'active', 'incomplete', 'past_due', 'unpaid', 'suspended', 'canceled', 'expired'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "entitlement"."subscriptions" DROP CONSTRAINT "subscriptions_status_check"`,
    );
    await q.query(`ALTER TABLE "entitlement"."subscriptions" ADD CONSTRAINT "subscriptions_status_check"
      CHECK ("status" IN ('trialing', 'active', 'past_due', 'unpaid', 'suspended', 'canceled', 'expired'))`);
  }
}
