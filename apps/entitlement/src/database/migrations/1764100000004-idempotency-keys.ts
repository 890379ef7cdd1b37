import { idempotencyTableSql } from '@paygate/database';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Responses kept for Idempotency-Key replays of the operator API. */
export class IdempotencyKeys1764100000004 implements MigrationInterface {
  name = 'IdempotencyKeys1764100000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(idempotencyTableSql('entitlement'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "entitlement"."idempotency_keys"`);
  }
}
