import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 4: versioned meters with every aggregation and group-by, rollups per group and meter
 * version (a meter change starts a new version instead of reinterpreting old rollups), distinct
 * values for unique_count, a lean dedupe table pruned by event time, dead letters that keep the
 * original bytes so they can be replayed, and events held until their meter exists.
 */
export class MetersGroupsWindows1764200000001 implements MigrationInterface {
  name = 'MetersGroupsWindows1764200000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "metering"."meters"
      DROP CONSTRAINT IF EXISTS "meters_aggregation_check",
      ADD CONSTRAINT "meters_aggregation_check"
        CHECK ("aggregation" IN ('sum', 'count', 'max', 'unique_count', 'latest')),
      ADD COLUMN "version" int NOT NULL DEFAULT 1,
      ADD COLUMN "group_by" jsonb NOT NULL DEFAULT '{}'::jsonb,
      ADD COLUMN "description" text NOT NULL DEFAULT '',
      ADD COLUMN "updated_at" timestamptz NOT NULL DEFAULT now(),
      ADD COLUMN "archived_at" timestamptz`);
    await q.query(`CREATE TABLE "metering"."meter_versions" (
      "key" text NOT NULL REFERENCES "metering"."meters" ("key"),
      "version" int NOT NULL,
      "event_type" text NOT NULL,
      "aggregation" text NOT NULL,
      "value_path" text,
      "group_by" jsonb NOT NULL,
      "created_at" timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY ("key", "version")
    )`);
    await q.query(`INSERT INTO "metering"."meter_versions"
        ("key", "version", "event_type", "aggregation", "value_path", "group_by", "created_at")
      SELECT "key", "version", "event_type", "aggregation", "value_path", "group_by", "created_at"
      FROM "metering"."meters"`);

    await q.query(`ALTER TABLE "metering"."rollups" RENAME COLUMN "value" TO "value_sum"`);
    await q.query(`ALTER TABLE "metering"."rollups"
      ADD COLUMN "meter_version" int NOT NULL DEFAULT 1,
      ADD COLUMN "group_key" jsonb NOT NULL DEFAULT '{}'::jsonb,
      ADD COLUMN "value_max" bigint,
      ADD COLUMN "latest_value" bigint,
      ADD COLUMN "latest_at" timestamptz`);
    await q.query(`ALTER TABLE "metering"."rollups" DROP CONSTRAINT "rollups_pkey"`);
    await q.query(`ALTER TABLE "metering"."rollups" ADD PRIMARY KEY
      ("customer_id", "meter_key", "bucket_start", "group_key", "meter_version")`);
    await q.query(`CREATE TABLE "metering"."unique_values" (
      "customer_id" text NOT NULL,
      "meter_key" text NOT NULL,
      "bucket_start" timestamptz NOT NULL,
      "group_key" jsonb NOT NULL,
      "meter_version" int NOT NULL,
      "value_hash" uuid NOT NULL,
      PRIMARY KEY ("customer_id", "meter_key", "bucket_start", "group_key", "meter_version", "value_hash")
    )`);

    // The dedupe claim only needs its key and the time it is pruned by; a BRIN index on time
    // costs next to nothing per insert because events arrive roughly in time order.
    // Byte-order collation: the key is only ever compared for equality, and the locale's
    // collation would cost a strcoll per comparison on the hottest index of the service.
    await q.query(`ALTER TABLE "metering"."events"
      DROP COLUMN "customer_id", DROP COLUMN "type", DROP COLUMN "received_at",
      ALTER COLUMN "source" TYPE text COLLATE "C", ALTER COLUMN "id" TYPE text COLLATE "C"`);
    await q.query(`CREATE INDEX "events_time_brin" ON "metering"."events" USING brin ("time")`);

    await q.query(`ALTER TABLE "metering"."dead_letters"
      ADD COLUMN "key" text,
      ADD COLUMN "value" bytea,
      ADD COLUMN "headers" jsonb NOT NULL DEFAULT '{}'::jsonb,
      ADD COLUMN "replayed_at" timestamptz`);
    await q.query(`CREATE INDEX ON "metering"."dead_letters" ("created_at")`);

    await q.query(`CREATE TABLE "metering"."held_events" (
      "topic" text NOT NULL,
      "partition" int NOT NULL,
      "offset" bigint NOT NULL,
      "kafka_timestamp" bigint NOT NULL,
      "event_type" text NOT NULL,
      "key" text,
      "value" bytea NOT NULL,
      "headers" jsonb NOT NULL,
      "held_at" timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY ("topic", "partition", "offset", "kafka_timestamp")
    )`);
    await q.query(`CREATE INDEX ON "metering"."held_events" ("event_type")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "metering"."held_events"`);
    await q.query(`ALTER TABLE "metering"."dead_letters"
      DROP COLUMN "key", DROP COLUMN "value", DROP COLUMN "headers", DROP COLUMN "replayed_at"`);
    await q.query(`DROP INDEX "metering"."events_time_brin"`);
    await q.query(`ALTER TABLE "metering"."events"
      ADD COLUMN "customer_id" text NOT NULL DEFAULT '',
      ADD COLUMN "type" text NOT NULL DEFAULT '',
      ADD COLUMN "received_at" timestamptz NOT NULL DEFAULT now()`);
    await q.query(`DROP TABLE "metering"."unique_values"`);
    await q.query(
      `DELETE FROM "metering"."rollups" WHERE "group_key" <> '{}'::jsonb OR "meter_version" <> 1`,
    );
    await q.query(`ALTER TABLE "metering"."rollups" DROP CONSTRAINT "rollups_pkey"`);
    await q.query(`ALTER TABLE "metering"."rollups"
      DROP COLUMN "meter_version", DROP COLUMN "group_key", DROP COLUMN "value_max",
      DROP COLUMN "latest_value", DROP COLUMN "latest_at"`);
    await q.query(`ALTER TABLE "metering"."rollups" RENAME COLUMN "value_sum" TO "value"`);
    await q.query(
      `ALTER TABLE "metering"."rollups" ADD PRIMARY KEY ("customer_id", "meter_key", "bucket_start")`,
    );
    await q.query(`DROP TABLE "metering"."meter_versions"`);
    await q.query(`DELETE FROM "metering"."meters" WHERE "aggregation" NOT IN ('sum', 'count')`);
    await q.query(`ALTER TABLE "metering"."meters"
      DROP CONSTRAINT "meters_aggregation_check",
      ADD CONSTRAINT "meters_aggregation_check" CHECK ("aggregation" IN ('sum', 'count')),
      DROP COLUMN "version", DROP COLUMN "group_by", DROP COLUMN "description",
      DROP COLUMN "updated_at", DROP COLUMN "archived_at"`);
  }
}
