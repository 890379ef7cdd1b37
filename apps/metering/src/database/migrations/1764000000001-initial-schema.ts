import { outboxTableSql } from '@paygate/database';
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764000000001 implements MigrationInterface {
  name = 'InitialSchema1764000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "metering"."meters" (
      "key" text PRIMARY KEY,
      "event_type" text NOT NULL,
      "aggregation" text NOT NULL CHECK ("aggregation" IN ('sum', 'count')),
      "value_path" text,
      "created_at" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX ON "metering"."meters" ("event_type")`);
    // The meter the gateway's served-request events feed.
    await q.query(`INSERT INTO "metering"."meters" ("key", "event_type", "aggregation", "value_path")
      VALUES ('api_requests', 'dev.paygate.request.served', 'sum', '$.units')`);
    // One row per accepted event: the primary key is the dedupe claim (ARCHITECTURE.md §5).
    await q.query(`CREATE TABLE "metering"."events" (
      "source" text NOT NULL,
      "id" text NOT NULL,
      "customer_id" text NOT NULL,
      "type" text NOT NULL,
      "time" timestamptz NOT NULL,
      "received_at" timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY ("source", "id")
    )`);
    await q.query(`CREATE TABLE "metering"."rollups" (
      "customer_id" text NOT NULL,
      "meter_key" text NOT NULL,
      "bucket_start" timestamptz NOT NULL,
      "value" bigint NOT NULL,
      "event_count" bigint NOT NULL,
      PRIMARY KEY ("customer_id", "meter_key", "bucket_start")
    )`);
    // Each dead-lettered offset once, so a replayed batch does not dead-letter twice.
    await q.query(`CREATE TABLE "metering"."dead_letters" (
      "topic" text NOT NULL,
      "partition" int NOT NULL,
      "offset" bigint NOT NULL,
      "reason" text NOT NULL,
      "detail" text NOT NULL,
      "created_at" timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY ("topic", "partition", "offset")
    )`);
    await q.query(outboxTableSql('metering'));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['outbox', 'dead_letters', 'rollups', 'events', 'meters']) {
      await q.query(`DROP TABLE "metering"."${table}"`);
    }
  }
}
