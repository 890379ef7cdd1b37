import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Leases of several units: usage settles them unit by unit (`consumed`), gateways give unused
 * units back (`returned`), and `beyond_units` (the part paid with credits) says how many
 * credits a returned unit refunds. A lease is open while units > consumed + returned.
 */
export class MultiUnitLeases1764300000000 implements MigrationInterface {
  name = 'MultiUnitLeases1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."leases"
      ADD COLUMN "consumed" bigint NOT NULL DEFAULT 0 CHECK ("consumed" >= 0),
      ADD COLUMN "returned" bigint NOT NULL DEFAULT 0 CHECK ("returned" >= 0),
      ADD COLUMN "beyond_units" bigint NOT NULL DEFAULT 0 CHECK ("beyond_units" >= 0)`);
    // Single-unit-per-request leases so far: credits were taken for the whole lease or none.
    await q.query(`UPDATE "entitlement"."leases" SET
      "beyond_units" = CASE WHEN "credits" > 0 THEN "units" ELSE 0 END,
      "consumed" = CASE WHEN "status" = 'settled' THEN "units" ELSE 0 END,
      "returned" = CASE WHEN "status" = 'released' THEN "units" ELSE 0 END`);
    await q.query(`ALTER TABLE "entitlement"."leases"
      ADD CONSTRAINT "leases_units_accounted" CHECK ("consumed" + "returned" <= "units")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."leases"
      DROP CONSTRAINT "leases_units_accounted",
      DROP COLUMN "consumed", DROP COLUMN "returned", DROP COLUMN "beyond_units"`);
  }
}
