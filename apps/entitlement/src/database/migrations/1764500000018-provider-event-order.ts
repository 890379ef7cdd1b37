import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payment providers deliver events out of order and more than once (Stripe says so). Each
 * subscription keeps the order key of the newest provider event that set its status, and of
 * the newest that changed its plan; an older event is acknowledged and changes nothing (see
 * PaymentEventsUseCase). Arrays compare element by element in Postgres, as the keys need.
 */
export class ProviderEventOrder1764500000018 implements MigrationInterface {
  name = 'ProviderEventOrder1764500000018';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."subscriptions"
      ADD COLUMN "provider_status_order" bigint[],
      ADD COLUMN "provider_plan_order" bigint[]`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."subscriptions"
      DROP COLUMN "provider_status_order", DROP COLUMN "provider_plan_order"`);
  }
}
