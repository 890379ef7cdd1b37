import { Inject, Injectable } from '@nestjs/common';
import { enqueueOutbox, toSafeInt } from '@paygate/database';
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

  /**
   * Puts not-yet-replayed dead letters back on the topic they came from with their original key, bytes
   * and headers, through the outbox in the same transaction that marks them replayed: each is
   * replayed once. A replayed event that is still bad is dead-lettered again (new offset), and
   * one that was accepted meanwhile is dropped as a duplicate.
   */
  async replay(filter: DeadLetterFilter): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      // An UPDATE … RETURNING comes back from TypeORM as [rows, count].
      const [rows]: [
        {
          topic: string;
          key: string | null;
          value: Buffer | null;
          headers: Record<string, string>;
        }[],
        number,
      ] = await manager.query(
        `WITH picked AS (
             SELECT "topic", "partition", "offset", "kafka_timestamp" FROM "metering"."dead_letters"
             WHERE "replayed_at" IS NULL AND "value" IS NOT NULL AND NOT "value_cut"
               AND ($1::text IS NULL OR "reason" = $1) AND ($2::timestamptz IS NULL OR "created_at" >= $2)
             ORDER BY "created_at", "partition", "offset" LIMIT $3 FOR UPDATE SKIP LOCKED)
           UPDATE "metering"."dead_letters" d SET "replayed_at" = now() FROM picked p
           WHERE (d."topic", d."partition", d."offset", d."kafka_timestamp") = (p."topic", p."partition", p."offset", p."kafka_timestamp")
           RETURNING d."topic", d."key", d."value", d."headers"`,
        [filter.reason ?? null, filter.since ?? null, filter.limit ?? 10_000],
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
      return rows.length;
    });
  }
}
