import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `upto` payments (x402 scheme `upto`, Payment intent `upto`): the payer authorizes up to an
 * amount, the credits are granted at once as an authorization (grant source 'authorization'),
 * and only what was used of them is settled once the hold ends (see PaymentSettlementsUseCase).
 * A direct payment is then 'authorized' until its hold ends, 'settling' while a gateway settles
 * it, and 'settled' or 'failed'; plain payments are 'charge' payments, settled when recorded.
 * What was used of an authorization is its amount less what of it expired, so each grant keeps
 * `expired`: the credits of it that expired, ever (backfilled from the ledger's expiries).
 */
export class UptoAuthorizations1764500000019 implements MigrationInterface {
  name = 'UptoAuthorizations1764500000019';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."direct_payments"
      ADD COLUMN "intent" text NOT NULL DEFAULT 'charge' CHECK ("intent" IN ('charge', 'upto')),
      ADD COLUMN "status" text NOT NULL DEFAULT 'settled'
        CHECK ("status" IN ('authorized', 'settling', 'settled', 'failed')),
      ADD COLUMN "hold_until" timestamptz,
      ADD COLUMN "protocol" text,
      ADD COLUMN "credential" text,
      ADD COLUMN "requirement" text,
      ADD COLUMN "amount_per_unit" numeric(78,0),
      ADD COLUMN "amount_per_call" numeric(78,0),
      ADD COLUMN "credits_used" bigint,
      ADD COLUMN "settle_amount" numeric(78,0),
      ADD COLUMN "claimed_until" timestamptz,
      ADD COLUMN "settled_at" timestamptz,
      ADD COLUMN "failure" text,
      ADD CONSTRAINT "direct_payments_upto_terms" CHECK ("intent" <> 'upto' OR (
        "hold_until" IS NOT NULL AND "protocol" IS NOT NULL AND "credential" IS NOT NULL
        AND "requirement" IS NOT NULL AND "amount_per_unit" IS NOT NULL
        AND "amount_per_call" IS NOT NULL))`);
    // ClaimSettlements looks for open authorizations whose hold ended, oldest first.
    await q.query(`CREATE INDEX "direct_payments_open_holds" ON "entitlement"."direct_payments"
      ("hold_until") WHERE "status" IN ('authorized', 'settling')`);

    await q.query(`ALTER TABLE "entitlement"."grants" DROP CONSTRAINT "grants_source_check"`);
    await q.query(`ALTER TABLE "entitlement"."grants" ADD CONSTRAINT "grants_source_check"
      CHECK ("source" IN ('purchase', 'promotional', 'manual', 'migrated', 'returned', 'authorization'))`);
    await q.query(`ALTER TABLE "entitlement"."grants"
      ADD COLUMN "expired" bigint NOT NULL DEFAULT 0 CHECK ("expired" >= 0)`);
    // Expiries so far, from their ledger entries (keys of GrantsService.expire and .restore):
    // "grant:<grant>:expire" and "lease:<lease>:expire:<grant>:<step>".
    await q.query(`UPDATE "entitlement"."grants" g SET "expired" = e."credits"
      FROM (SELECT CASE WHEN "idempotency_key" LIKE 'grant:%' THEN split_part("idempotency_key", ':', 2)
                        ELSE split_part("idempotency_key", ':', 4) END AS "grant_id",
                   -SUM("amount") AS "credits"
            FROM "entitlement"."ledger_entries"
            WHERE "type" = 'expire'
              AND ("idempotency_key" LIKE 'grant:%:expire' OR "idempotency_key" LIKE 'lease:%:expire:%:%')
            GROUP BY 1) e
      WHERE g."id"::text = e."grant_id" AND e."credits" > 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."grants" DROP COLUMN "expired"`);
    await q.query(`ALTER TABLE "entitlement"."grants" DROP CONSTRAINT "grants_source_check"`);
    // Without authorizations their grants are credits the customer paid for.
    await q.query(
      `UPDATE "entitlement"."grants" SET "source" = 'purchase' WHERE "source" = 'authorization'`,
    );
    await q.query(`ALTER TABLE "entitlement"."grants" ADD CONSTRAINT "grants_source_check"
      CHECK ("source" IN ('purchase', 'promotional', 'manual', 'migrated', 'returned'))`);
    await q.query(`DROP INDEX "entitlement"."direct_payments_open_holds"`);
    await q.query(`ALTER TABLE "entitlement"."direct_payments"
      DROP CONSTRAINT "direct_payments_upto_terms",
      DROP COLUMN "intent", DROP COLUMN "status", DROP COLUMN "hold_until", DROP COLUMN "protocol",
      DROP COLUMN "credential", DROP COLUMN "requirement", DROP COLUMN "amount_per_unit",
      DROP COLUMN "amount_per_call", DROP COLUMN "credits_used", DROP COLUMN "settle_amount",
      DROP COLUMN "claimed_until", DROP COLUMN "settled_at", DROP COLUMN "failure"`);
  }
}
