import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Customers metering has heard of (entitlement.changed, reason customer-created), for the
 * unknown-customer policy; held events now say why they are held and whose they are.
 */
export class UnknownCustomers1764200000002 implements MigrationInterface {
  name = 'UnknownCustomers1764200000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "metering"."known_customers" (
      "customer_id" text PRIMARY KEY,
      "known_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`ALTER TABLE "metering"."held_events"
      ADD COLUMN "reason" text NOT NULL DEFAULT 'unknown-meter'
        CHECK ("reason" IN ('unknown-meter', 'unknown-customer')),
      ADD COLUMN "subject" text`);
    await q.query(`CREATE INDEX ON "metering"."held_events" ("subject")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "metering"."held_events" DROP COLUMN "reason", DROP COLUMN "subject"`,
    );
    await q.query(`DROP TABLE "metering"."known_customers"`);
  }
}
