import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A dead letter was identified by topic, partition and offset alone; offsets start again at 0
 * when a topic is recreated (or a development broker reset), and such letters were then taken
 * for ones already sent. The message's Kafka timestamp now completes the identity.
 */
export class DeadLetterIdentity1764100000001 implements MigrationInterface {
  name = 'DeadLetterIdentity1764100000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "metering"."dead_letters" ADD COLUMN "kafka_timestamp" bigint NOT NULL DEFAULT 0`,
    );
    await q.query(`ALTER TABLE "metering"."dead_letters" DROP CONSTRAINT "dead_letters_pkey"`);
    await q.query(
      `ALTER TABLE "metering"."dead_letters" ADD PRIMARY KEY ("topic", "partition", "offset", "kafka_timestamp")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "metering"."dead_letters" DROP CONSTRAINT "dead_letters_pkey"`);
    await q.query(
      `ALTER TABLE "metering"."dead_letters" ADD PRIMARY KEY ("topic", "partition", "offset")`,
    );
    await q.query(`ALTER TABLE "metering"."dead_letters" DROP COLUMN "kafka_timestamp"`);
  }
}
