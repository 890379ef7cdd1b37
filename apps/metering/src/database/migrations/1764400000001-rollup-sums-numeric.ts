import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Numbers that fit: a minute's sum is kept as numeric, not bigint. Each event value is at most
 * 2^53 − 1, so about 1,024 of them in one customer/meter/minute overflowed bigint ("bigint out
 * of range") and the message that crossed it was dead-lettered, losing valid usage. `value_max`
 * and `latest_value` hold one event's value each and stay bigint. The change rewrites the table
 * under an exclusive lock (proportional to the rollups' size).
 */
export class RollupSumsNumeric1764400000001 implements MigrationInterface {
  name = 'RollupSumsNumeric1764400000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "metering"."rollups" ALTER COLUMN "value_sum" TYPE numeric`);
  }

  /** Fails ("bigint out of range") if a stored sum has gone past bigint since. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "metering"."rollups" ALTER COLUMN "value_sum" TYPE bigint`);
  }
}
