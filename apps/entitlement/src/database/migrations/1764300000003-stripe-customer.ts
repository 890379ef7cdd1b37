import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The customer's id at Stripe, learnt from webhooks (or set by an operator): for the portal. */
export class StripeCustomer1764300000003 implements MigrationInterface {
  name = 'StripeCustomer1764300000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."customers" ADD COLUMN "stripe_customer_id" text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."customers" DROP COLUMN "stripe_customer_id"`);
  }
}
