import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbox rows Kafka refuses for what they are (too large, a topic that cannot exist) are
 * parked with the reason instead of blocking every row behind them (see OutboxRelay).
 */
export class OutboxParking1764400000002 implements MigrationInterface {
  name = 'OutboxParking1764400000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "metering"."outbox"
      ADD COLUMN "parked_at" timestamptz, ADD COLUMN "park_reason" text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "metering"."outbox" DROP COLUMN "parked_at", DROP COLUMN "park_reason"`,
    );
  }
}
