import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Metering's own alerts (a stalled usage consumer), delivered like entitlement's by
 * libs/alerts' AlertDispatcher. The table has entitlement's shape; it is written out here, not
 * shared, because a migration must not change when code it imports does.
 */
export class WebhookDeliveries1764300000002 implements MigrationInterface {
  name = 'WebhookDeliveries1764300000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "metering"."webhook_deliveries" (
      "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "type" text NOT NULL,
      "payload" jsonb NOT NULL,
      "attempts" int NOT NULL DEFAULT 0,
      "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
      "delivered_at" timestamptz,
      "last_error" text,
      "created_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX "webhook_deliveries_due" ON "metering"."webhook_deliveries"
      ("next_attempt_at") WHERE "delivered_at" IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "metering"."webhook_deliveries"`);
  }
}
