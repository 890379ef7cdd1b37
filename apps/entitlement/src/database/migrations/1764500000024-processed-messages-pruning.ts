import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Claims of processed messages are forgotten after PROCESSED_MESSAGES_RETENTION_HOURS (see
 * ProcessedMessagesPruner): a BRIN index on the time of the claim, which only grows, so the
 * pruner finds the old ones without a scan of the table, at a fraction of a btree's size.
 */
export class ProcessedMessagesPruning1764500000024 implements MigrationInterface {
  name = 'ProcessedMessagesPruning1764500000024';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX "processed_messages_processed_at" ON "entitlement"."processed_messages"
       USING brin ("processed_at")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "entitlement"."processed_messages_processed_at"`);
  }
}
