import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Credit grants with priority, effective date and expiry, and which grants each lease drew
 * from. Credits that existed before become one grant per customer, so that the stored balance
 * keeps equalling the credits left in grants (less any overdraft).
 */
export class CreditGrants1764100000003 implements MigrationInterface {
  name = 'CreditGrants1764100000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "entitlement"."grants" (
      "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "customer_id" uuid NOT NULL REFERENCES "entitlement"."customers"("id"),
      "source" text NOT NULL CHECK ("source" IN ('purchase', 'promotional', 'manual', 'migrated', 'returned')),
      "amount" bigint NOT NULL CHECK ("amount" > 0),
      "remaining" bigint NOT NULL CHECK ("remaining" >= 0),
      "priority" int NOT NULL DEFAULT 100,
      "effective_at" timestamptz NOT NULL,
      "expires_at" timestamptz,
      "status" text NOT NULL CHECK ("status" IN ('pending', 'active', 'expired')),
      "idempotency_key" text NOT NULL UNIQUE,
      "request_hash" text,
      "description" text,
      "created_at" timestamptz NOT NULL DEFAULT now(),
      CHECK ("expires_at" IS NULL OR "expires_at" > "effective_at")
    )`);
    // Burn order: priority, then earliest expiry, then oldest.
    await q.query(`CREATE INDEX "grants_burn_order" ON "entitlement"."grants"
      ("customer_id", "priority", "expires_at" NULLS LAST, "created_at") WHERE "status" = 'active' AND "remaining" > 0`);
    await q.query(`CREATE INDEX "grants_due" ON "entitlement"."grants" ("customer_id", "effective_at", "expires_at")
      WHERE "status" <> 'expired'`);
    await q.query(`CREATE TABLE "entitlement"."lease_grant_allocations" (
      "lease_id" uuid NOT NULL,
      "grant_id" uuid NOT NULL REFERENCES "entitlement"."grants"("id"),
      "amount" bigint NOT NULL CHECK ("amount" > 0),
      PRIMARY KEY ("lease_id", "grant_id")
    )`);
    await q.query(`INSERT INTO "entitlement"."grants"
        ("customer_id", "source", "amount", "remaining", "effective_at", "status", "idempotency_key", "description")
      SELECT "customer_id", 'migrated', "available", "available", now(), 'active', 'migrated:' || "customer_id", 'credits before grants'
      FROM "entitlement"."balances" WHERE "available" > 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "entitlement"."lease_grant_allocations"`);
    await q.query(`DROP TABLE "entitlement"."grants"`);
  }
}
