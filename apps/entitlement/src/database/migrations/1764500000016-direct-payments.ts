import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payments the gateway settled for a machine-payable 402 (x402, the Payment auth scheme), one
 * row per payment: the primary key makes a payment grant its credits once, however often its
 * credential is replayed (see RecordPaymentUseCase). `amount` is exact in the asset's smallest
 * unit (up to 78 digits, a uint256). The row is inserted before its grant exists and gets the
 * grant's id in the same transaction; the deferred foreign key checks at commit that it did.
 */
export class DirectPayments1764500000016 implements MigrationInterface {
  name = 'DirectPayments1764500000016';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "entitlement"."direct_payments" (
      "payment_id" text PRIMARY KEY CHECK (char_length("payment_id") BETWEEN 1 AND 512),
      "customer_id" uuid NOT NULL REFERENCES "entitlement"."customers"("id"),
      "network" text NOT NULL,
      "asset" text NOT NULL,
      "amount" numeric(78,0) NOT NULL CHECK ("amount" >= 0),
      "payer" text NOT NULL,
      "transaction" text NOT NULL,
      "credits" bigint NOT NULL CHECK ("credits" > 0),
      "grant_id" uuid NOT NULL REFERENCES "entitlement"."grants"("id") DEFERRABLE INITIALLY DEFERRED,
      "request_id" text,
      "created_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(
      `CREATE INDEX "direct_payments_customer" ON "entitlement"."direct_payments" ("customer_id")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "entitlement"."direct_payments"`);
  }
}
