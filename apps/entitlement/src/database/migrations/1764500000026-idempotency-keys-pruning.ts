import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotency keys are forgotten after IDEMPOTENCY_KEYS_RETENTION_HOURS (see
 * IdempotencyKeysPruner): an index on the time of the first claim, so each of the pruner's
 * batches finds the oldest keys without a scan of the table (its only other index is the key).
 * A btree, not BRIN, for the reason given in ProcessedMessagesPruning1764500000024: pages that
 * pruning frees are reused by new keys, which would make BRIN's block ranges cover every time.
 */
export class IdempotencyKeysPruning1764500000026 implements MigrationInterface {
  name = 'IdempotencyKeysPruning1764500000026';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX "idempotency_keys_created_at"
       ON "entitlement"."idempotency_keys" ("created_at")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "entitlement"."idempotency_keys_created_at"`);
  }
}
