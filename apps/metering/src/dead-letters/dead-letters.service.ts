import { Inject, Injectable } from '@nestjs/common';
import { enqueueOutbox, toSafeInt } from '@paygate/database';
import { DomainError } from '@paygate/problem-details';
import { DataSource } from 'typeorm';
import { METERING_SCHEMA } from '../database/metering.data-source';

export interface DeadLetterView {
  topic: string;
  partition: number;
  offset: number;
  reason: string;
  detail: string;
  createdAt: string;
  replayedAt: string | null;
}

export interface DeadLetterFilter {
  reason?: string;
  since?: string;
  limit?: number;
}

/** How many letters one replay puts back at most, and when the request names no limit. */
export const REPLAY_MAX_LIMIT = 1_000;

/** What a replay puts back: letters of one reason, optionally since a time, at most limit. */
export interface ReplayFilter {
  reason: string;
  since?: string;
  limit?: number;
}

/** What a replay did. */
export interface ReplayReport {
  /** How many letters went back on their topic. */
  replayed: number;
  /** The filter as applied (the default limit filled in). */
  filter: { reason: string; since: string | null; limit: number };
  /** Letters the same filter still matches: more requests replay them. */
  remaining: number;
  /** Each letter replayed, by its original position. */
  letters: { topic: string; partition: number; offset: number }[];
}

interface Row {
  topic: string;
  partition: number;
  offset: string;
  reason: string;
  detail: string;
  created_at: Date;
  replayed_at: Date | null;
}

/** Dead letters: why events were refused, and sending them through again once fixed. */
@Injectable()
export class DeadLettersService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async recent(filter: DeadLetterFilter): Promise<DeadLetterView[]> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT "topic", "partition", "offset", "reason", "detail", "created_at", "replayed_at"
       FROM "metering"."dead_letters"
       WHERE ($1::text IS NULL OR "reason" = $1) AND ($2::timestamptz IS NULL OR "created_at" >= $2)
       ORDER BY "created_at" DESC, "offset" DESC LIMIT $3`,
      [filter.reason ?? null, filter.since ?? null, filter.limit ?? 50],
    );
    return rows.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      offset: toSafeInt(r.offset),
      reason: r.reason,
      detail: r.detail,
      createdAt: new Date(r.created_at).toISOString(),
      replayedAt: r.replayed_at ? new Date(r.replayed_at).toISOString() : null,
    }));
  }

  /** See replayReport; the number of letters put back. */
  async replay(filter: ReplayFilter): Promise<number> {
    return (await this.replayReport(filter)).replayed;
  }

  /**
   * Puts not-yet-replayed dead letters of one reason back on the topic they came from with
   * their original key, bytes and headers, through the outbox in the same transaction that
   * marks them replayed: each is replayed once. A replayed event that is still bad is
   * dead-lettered again (new offset), and one that was accepted meanwhile is dropped as a
   * duplicate. The filter is explicit (a reason; never "all" for a missing or null one) and
   * the batch bounded (REPLAY_MAX_LIMIT); the answer says which letters went and how many
   * are left.
   */
  async replayReport(filter: ReplayFilter): Promise<ReplayReport> {
    if (typeof filter.reason !== 'string' || filter.reason === '')
      throw new DomainError('validation-failed', 'A replay needs the reason of the letters.');
    const limit = Math.min(filter.limit ?? REPLAY_MAX_LIMIT, REPLAY_MAX_LIMIT);
    const since = filter.since ?? null;
    return this.dataSource.transaction(async (manager) => {
      // An UPDATE … RETURNING comes back from TypeORM as [rows, count].
      const [rows]: [
        {
          topic: string;
          partition: number;
          offset: string;
          key: string | null;
          value: Buffer | null;
          headers: Record<string, string>;
        }[],
        number,
      ] = await manager.query(
        `WITH picked AS (
             SELECT "topic", "partition", "offset", "kafka_timestamp" FROM "metering"."dead_letters"
             WHERE "replayed_at" IS NULL AND "value" IS NOT NULL AND NOT "value_cut"
               AND "reason" = $1 AND ($2::timestamptz IS NULL OR "created_at" >= $2)
             ORDER BY "created_at", "partition", "offset" LIMIT $3 FOR UPDATE SKIP LOCKED)
           UPDATE "metering"."dead_letters" d SET "replayed_at" = now() FROM picked p
           WHERE (d."topic", d."partition", d."offset", d."kafka_timestamp") = (p."topic", p."partition", p."offset", p."kafka_timestamp")
           RETURNING d."topic", d."partition", d."offset", d."key", d."value", d."headers"`,
        [filter.reason, since, limit],
      );
      await enqueueOutbox(
        manager,
        METERING_SCHEMA,
        rows.map((r) => ({
          topic: r.topic,
          key: r.key,
          value: r.value ?? Buffer.alloc(0),
          headers: r.headers,
        })),
      );
      const [{ remaining }]: { remaining: string }[] = await manager.query(
        `SELECT count(*) AS "remaining" FROM "metering"."dead_letters"
         WHERE "replayed_at" IS NULL AND "value" IS NOT NULL AND NOT "value_cut"
           AND "reason" = $1 AND ($2::timestamptz IS NULL OR "created_at" >= $2)`,
        [filter.reason, since],
      );
      return {
        replayed: rows.length,
        filter: { reason: filter.reason, since, limit },
        remaining: Number(remaining),
        letters: rows.map((r) => ({
          topic: r.topic,
          partition: r.partition,
          offset: toSafeInt(r.offset),
        })),
      };
    });
  }
}
