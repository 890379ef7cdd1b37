import { outboxTableSql } from '@paygate/database';
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "entitlement"."customers" (
      "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "name" text NOT NULL,
      "email" text,
      "created_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE "entitlement"."api_keys" (
      "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "customer_id" uuid NOT NULL REFERENCES "entitlement"."customers"("id"),
      "name" text,
      "prefix" text NOT NULL,
      "key_hash" text NOT NULL UNIQUE,
      "scopes" text[] NOT NULL DEFAULT '{}',
      "expires_at" timestamptz,
      "revoked_at" timestamptz,
      "created_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX ON "entitlement"."api_keys" ("customer_id")`);
    await q.query(`CREATE TABLE "entitlement"."plans" (
      "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "key" text NOT NULL,
      "version" int NOT NULL,
      "name" text NOT NULL,
      "created_at" timestamptz NOT NULL DEFAULT now(),
      UNIQUE ("key", "version")
    )`);
    await q.query(`CREATE TABLE "entitlement"."plan_features" (
      "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "plan_id" uuid NOT NULL REFERENCES "entitlement"."plans"("id"),
      "feature_key" text NOT NULL,
      "kind" text NOT NULL CHECK ("kind" IN ('boolean', 'metered')),
      "meter_key" text,
      "included_units" bigint NOT NULL DEFAULT 0 CHECK ("included_units" >= 0),
      "limit_policy" text NOT NULL DEFAULT 'block' CHECK ("limit_policy" IN ('block', 'credits', 'overage')),
      "unit_price" bigint NOT NULL DEFAULT 1 CHECK ("unit_price" >= 0),
      UNIQUE ("plan_id", "feature_key")
    )`);
    await q.query(`CREATE TABLE "entitlement"."subscriptions" (
      "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "customer_id" uuid NOT NULL REFERENCES "entitlement"."customers"("id"),
      "plan_id" uuid NOT NULL REFERENCES "entitlement"."plans"("id"),
      "status" text NOT NULL CHECK ("status" IN ('trialing', 'active', 'past_due', 'unpaid', 'suspended', 'canceled', 'expired')),
      "current_period_start" timestamptz NOT NULL,
      "current_period_end" timestamptz NOT NULL,
      "created_at" timestamptz NOT NULL DEFAULT now(),
      "updated_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(
      `CREATE INDEX ON "entitlement"."subscriptions" ("customer_id", "created_at" DESC)`,
    );
    // The balance row is a projection of the ledger kept for speed; see LedgerService.rebuild.
    await q.query(`CREATE TABLE "entitlement"."balances" (
      "customer_id" uuid PRIMARY KEY REFERENCES "entitlement"."customers"("id"),
      "available" bigint NOT NULL DEFAULT 0,
      "updated_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE "entitlement"."ledger_entries" (
      "id" bigserial PRIMARY KEY,
      "customer_id" uuid NOT NULL REFERENCES "entitlement"."customers"("id"),
      "type" text NOT NULL CHECK ("type" IN ('grant', 'debit', 'reserve', 'release', 'expire', 'void', 'adjust')),
      "amount" bigint NOT NULL,
      "idempotency_key" text NOT NULL UNIQUE,
      "request_hash" text,
      "lease_id" uuid,
      "description" text,
      "created_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX ON "entitlement"."ledger_entries" ("customer_id", "id" DESC)`);
    await q.query(`CREATE TABLE "entitlement"."feature_usage" (
      "subscription_id" uuid NOT NULL REFERENCES "entitlement"."subscriptions"("id"),
      "feature_key" text NOT NULL,
      "period_start" timestamptz NOT NULL,
      "used" bigint NOT NULL DEFAULT 0,
      PRIMARY KEY ("subscription_id", "feature_key", "period_start")
    )`);
    await q.query(`CREATE TABLE "entitlement"."leases" (
      "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "customer_id" uuid NOT NULL REFERENCES "entitlement"."customers"("id"),
      "subscription_id" uuid NOT NULL REFERENCES "entitlement"."subscriptions"("id"),
      "feature_key" text NOT NULL,
      "period_start" timestamptz NOT NULL,
      "request_id" text NOT NULL,
      "units" bigint NOT NULL CHECK ("units" > 0),
      "credits" bigint NOT NULL DEFAULT 0 CHECK ("credits" >= 0),
      "status" text NOT NULL CHECK ("status" IN ('held', 'settled', 'released')),
      "created_at" timestamptz NOT NULL DEFAULT now(),
      "closed_at" timestamptz
    )`);
    await q.query(
      `CREATE INDEX ON "entitlement"."leases" ("status", "created_at") WHERE "status" = 'held'`,
    );
    await q.query(`CREATE TABLE "entitlement"."processed_messages" (
      "id" text PRIMARY KEY,
      "processed_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(outboxTableSql('entitlement'));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'outbox',
      'processed_messages',
      'leases',
      'feature_usage',
      'ledger_entries',
      'balances',
      'subscriptions',
      'plan_features',
      'plans',
      'api_keys',
      'customers',
    ]) {
      await q.query(`DROP TABLE "entitlement"."${table}"`);
    }
  }
}
