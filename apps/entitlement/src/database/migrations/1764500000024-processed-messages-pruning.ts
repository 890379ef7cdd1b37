import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Claims of processed messages are forgotten after PROCESSED_MESSAGES_RETENTION_HOURS (see
 * ProcessedMessagesPruner): an index on the time of the claim, so each of the pruner's batches
 * finds the oldest claims without a scan of the table. A btree, not BRIN: once pruning frees
 * pages that new claims reuse, BRIN's block ranges cover every time and each batch would scan
 * the table; a btree on an ever-growing time is appended to at its right edge.
 */
export class ProcessedMessagesPruning1764500000024 implements MigrationInterface {
  name = 'ProcessedMessagesPruning1764500000024';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX "processed_messages_processed_at" ON "entitlement"."processed_messages" ("processed_at")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "entitlement"."processed_messages_processed_at"`);
  }
}
