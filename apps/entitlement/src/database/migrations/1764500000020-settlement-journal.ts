import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `exact` payments are journaled before they are settled (see RecordPaymentUseCase): the row is
 * 'settling', claimed by its gateway until `claimed_until`, with the credential and requirement
 * any gateway needs to settle it should that one die between settling and crediting; it has no
 * grant until its settlement is reported. So `grant_id` may be null (the deferred foreign key
 * still checks a set one at commit), and a settling charge must carry its terms.
 */
export class SettlementJournal1764500000020 implements MigrationInterface {
  name = 'SettlementJournal1764500000020';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "entitlement"."direct_payments" ALTER COLUMN "grant_id" DROP NOT NULL`,
    );
    await q.query(`ALTER TABLE "entitlement"."direct_payments"
      ADD CONSTRAINT "direct_payments_journal_terms" CHECK ("intent" <> 'charge' OR "status" = 'settled' OR (
        "protocol" IS NOT NULL AND "credential" IS NOT NULL AND "requirement" IS NOT NULL)),
      ADD CONSTRAINT "direct_payments_granted_when_settled" CHECK (
        "status" <> 'settled' OR "grant_id" IS NOT NULL)`);
    // ClaimSettlements looks for journaled charges whose claim lapsed, oldest claim first.
    await q.query(`CREATE INDEX "direct_payments_open_charges" ON "entitlement"."direct_payments"
      ("claimed_until") WHERE "intent" = 'charge' AND "status" = 'settling'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "entitlement"."direct_payments_open_charges"`);
    await q.query(`ALTER TABLE "entitlement"."direct_payments"
      DROP CONSTRAINT "direct_payments_granted_when_settled",
      DROP CONSTRAINT "direct_payments_journal_terms"`);
    // Journaled payments that never settled granted nothing: without a journal they are not there.
    await q.query(`DELETE FROM "entitlement"."direct_payments" WHERE "grant_id" IS NULL`);
    await q.query(
      `ALTER TABLE "entitlement"."direct_payments" ALTER COLUMN "grant_id" SET NOT NULL`,
    );
  }
}
