import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Threshold alerts waiting for (or retrying) delivery to the operator's webhook URL. */
export class WebhookDeliveries1764100000005 implements MigrationInterface {
  name = 'WebhookDeliveries1764100000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "entitlement"."webhook_deliveries" (
      "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "type" text NOT NULL,
      "payload" jsonb NOT NULL,
      "attempts" int NOT NULL DEFAULT 0,
      "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
      "delivered_at" timestamptz,
      "last_error" text,
      "created_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX "webhook_deliveries_due" ON "entitlement"."webhook_deliveries" ("next_attempt_at")
      WHERE "delivered_at" IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "entitlement"."webhook_deliveries"`);
  }
}
