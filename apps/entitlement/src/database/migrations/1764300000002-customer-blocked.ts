import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Operators can block a customer: every request is refused with 403 forbidden. */
export class CustomerBlocked1764300000002 implements MigrationInterface {
  name = 'CustomerBlocked1764300000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "entitlement"."customers" ADD COLUMN "blocked" boolean NOT NULL DEFAULT false`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."customers" DROP COLUMN "blocked"`);
  }
}
