import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Events of a type no meter reads are counted per type and day instead of dead-lettered; a
 * per-partition mark of the next uncounted offset keeps a redelivered batch from counting them
 * twice. Dead letters larger than the configured cut keep their first bytes only, with the
 * original size and SHA-256 (a cut letter cannot be replayed).
 */
export class UnmatchedAndCutLetters1764300000001 implements MigrationInterface {
  name = 'UnmatchedAndCutLetters1764300000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "metering"."unmatched_events" (
      "event_type" text NOT NULL,
      "day" date NOT NULL,
      "count" bigint NOT NULL,
      "first_seen_at" timestamptz NOT NULL DEFAULT now(),
      "last_seen_at" timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY ("event_type", "day")
    )`);
    await q.query(`CREATE TABLE "metering"."unmatched_progress" (
      "topic" text NOT NULL,
      "partition" int NOT NULL,
      "next_offset" bigint NOT NULL,
      PRIMARY KEY ("topic", "partition")
    )`);
    await q.query(`ALTER TABLE "metering"."dead_letters"
      ADD COLUMN "value_bytes" bigint,
      ADD COLUMN "value_sha256" text,
      ADD COLUMN "value_cut" boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "metering"."dead_letters"
      DROP COLUMN "value_bytes", DROP COLUMN "value_sha256", DROP COLUMN "value_cut"`);
    await q.query(`DROP TABLE "metering"."unmatched_progress"`);
    await q.query(`DROP TABLE "metering"."unmatched_events"`);
  }
}
