import { deleteBatch } from '@paygate/database';
import type { DataSource, EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import { kafkaPositions } from '../usage/kafka-positions';
import type { DeadLetter } from '../usage/usage-batch';
import { keptHeaders, letterValue, pgJsonHeaders, pgText } from './dead-letter-copy';

/** A dead letter as the list of recent ones shows it. */
export interface DeadLetterRow {
  topic: string;
  partition: number;
  offset: string;
  reason: string;
  detail: string;
  created_at: Date;
  replayed_at: Date | null;
}

/** A letter marked replayed: what goes back on its topic. */
export interface ReplayedLetter {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** The SQL of dead letters (dead_letters): recorded by ingestion, listed and replayed by the API. */
export const deadLetters = {
  /**
   * Records each letter once (by topic, partition, offset and Kafka timestamp), with its
   * original bytes (the first `maxValueBytes`) for replay; returns how many were new.
   */
  async add(manager: EntityManager, letters: DeadLetter[], maxValueBytes: number): Promise<number> {
    if (letters.length === 0) return 0;
    const kept = letters.map((l) => letterValue(l.message.value, maxValueBytes));
    const rows: unknown[] = await manager.query(
      `INSERT INTO ${tables.dead_letters} ("topic", "partition", "offset", "kafka_timestamp",
         "reason", "detail", "key", "value", "headers", "value_bytes", "value_sha256", "value_cut")
       SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::text[],
         $6::text[], $7::text[], $8::bytea[], $9::jsonb[], $10::bigint[], $11::text[], $12::boolean[])
       ON CONFLICT DO NOTHING RETURNING 1`,
      [
        ...kafkaPositions(letters.map((l) => l.message)),
        letters.map((l) => l.reason),
        // Whatever bytes a message carries, its letter must be recordable (Postgres text has no NUL).
        letters.map((l) => pgText(l.detail.slice(0, 2000))),
        letters.map((l) =>
          l.message.key ? pgText(l.message.key.toString().slice(0, 1024)) : null,
        ),
        kept.map((k) => k.value),
        letters.map((l) => pgJsonHeaders(keptHeaders(l.message))),
        letters.map((l) => l.message.value?.length ?? 0),
        kept.map((k) => k.cut?.sha256 ?? null),
        kept.map((k) => Boolean(k.cut)),
      ],
    );
    return rows.length;
  },

  /** The newest letters, optionally of one reason and since a time, at most `limit`. */
  recent(
    runner: EntityManager | DataSource,
    reason: string | null,
    since: string | null,
    limit: number,
  ): Promise<DeadLetterRow[]> {
    return runner.query(
      `SELECT "topic", "partition", "offset", "reason", "detail", "created_at", "replayed_at"
       FROM ${tables.dead_letters}
       WHERE ($1::text IS NULL OR "reason" = $1) AND ($2::timestamptz IS NULL OR "created_at" >= $2)
       ORDER BY "created_at" DESC, "offset" DESC LIMIT $3`,
      [reason, since, limit],
    );
  },

  /**
   * Marks replayed the oldest `limit` replayable letters of a reason (since a time), skipping
   * those another replay holds; returns them.
   */
  async markReplayed(
    manager: EntityManager,
    reason: string,
    since: string | null,
    limit: number,
  ): Promise<ReplayedLetter[]> {
    // An UPDATE … RETURNING comes back from TypeORM as [rows, count].
    const [rows]: [ReplayedLetter[], number] = await manager.query(
      `WITH picked AS (
           SELECT "topic", "partition", "offset", "kafka_timestamp" FROM ${tables.dead_letters}
           WHERE "replayed_at" IS NULL AND "value" IS NOT NULL AND NOT "value_cut"
             AND "reason" = $1 AND ($2::timestamptz IS NULL OR "created_at" >= $2)
           ORDER BY "created_at", "partition", "offset" LIMIT $3 FOR UPDATE SKIP LOCKED)
         UPDATE ${tables.dead_letters} d SET "replayed_at" = now() FROM picked p
         WHERE (d."topic", d."partition", d."offset", d."kafka_timestamp") = (p."topic", p."partition", p."offset", p."kafka_timestamp")
         RETURNING d."topic", d."partition", d."offset", d."key", d."value", d."headers"`,
      [reason, since, limit],
    );
    return rows;
  },

  /**
   * Deletes up to `limit` letters recorded more than `hours` ago, oldest first, replayed or not
   * (see DEAD_LETTER_RETENTION_HOURS: a replay that late could only be `late` again); how many
   * went. A letter a replay holds is waited for, then deleted (marked replayed or not: it is
   * past the retention either way).
   */
  async forgetOlderThan(runner: DataSource, hours: number, limit: number): Promise<number> {
    return deleteBatch(runner, {
      table: tables.dead_letters,
      where: `"created_at" < now() - make_interval(hours => $1)`,
      orderBy: '"created_at"',
      params: [hours],
      limit,
    });
  },

  /** How many letters of a reason (since a time) are still replayable. */
  async replayableCount(
    manager: EntityManager,
    reason: string,
    since: string | null,
  ): Promise<number> {
    const [{ remaining }]: { remaining: string }[] = await manager.query(
      `SELECT count(*) AS "remaining" FROM ${tables.dead_letters}
       WHERE "replayed_at" IS NULL AND "value" IS NOT NULL AND NOT "value_cut"
         AND "reason" = $1 AND ($2::timestamptz IS NULL OR "created_at" >= $2)`,
      [reason, since],
    );
    return Number(remaining);
  },
};
