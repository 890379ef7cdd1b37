import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Counts of unmatched events are forgotten after UNMATCHED_EVENTS_RETENTION_DAYS (see
 * UnmatchedEventsPruner): an index on the day, so each of the pruner's batches finds the oldest
 * days without a scan of the table (its primary key leads with the event type, and made-up
 * types can make many). Dead letters are pruned by "created_at", indexed since
 * MetersGroupsWindows1764200000001.
 */
export class UnmatchedEventsPruning1764500000002 implements MigrationInterface {
  name = 'UnmatchedEventsPruning1764500000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "unmatched_events_day" ON "metering"."unmatched_events" ("day")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "metering"."unmatched_events_day"`);
  }
}
