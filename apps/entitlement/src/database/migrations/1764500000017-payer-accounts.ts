import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Anonymous pay-per-call (docs/payments.md): a payer without an API key becomes a customer on
 * its first settled payment. One row per payer account, "<network>:<address>" (CAIP-10), so a
 * payer is one customer however many payments it makes; the customer's id is unique too (one
 * account per customer).
 */
export class PayerAccounts1764500000017 implements MigrationInterface {
  name = 'PayerAccounts1764500000017';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "entitlement"."payer_accounts" (
      "account" text PRIMARY KEY CHECK (char_length("account") BETWEEN 3 AND 330),
      "customer_id" uuid NOT NULL UNIQUE REFERENCES "entitlement"."customers"("id"),
      "created_at" timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "entitlement"."payer_accounts"`);
  }
}
