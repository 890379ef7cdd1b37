import { deleteBatch } from '@paygate/database';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import type { UnmatchedEvent } from './usage-batch';

export interface UnmatchedCount {
  eventType: string;
  /** Exact count as a decimal string (bigint in Postgres). */
  count: string;
  firstSeenAt: string;
  lastSeenAt: string;
}

/** What GET /v1/usage/unmatched lists: the most frequent types, and how many there were. */
export interface UnmatchedList {
  types: UnmatchedCount[];
  /** Types with counts in the days asked about, listed or not. */
  typeCount: number;
  /** More types than listed: `types` holds the most frequent `UNMATCHED_LIST_LIMIT`. */
  truncated: boolean;
}

/** The most types one answer lists (made-up types are unbounded: one per event, at worst). */
export const UNMATCHED_LIST_LIMIT = 1000;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Events no meter reads: counted per type and (UTC) day of their arrival at metering. Each
 * partition keeps the next offset not yet counted, in the same transaction as the counts, so
 * a batch delivered again after its transaction committed counts nothing twice.
 */
@Injectable()
export class UnmatchedEventsRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** Counts the events not counted before; returns how many were new. */
  async count(manager: EntityManager, events: UnmatchedEvent[], nowMs: number): Promise<number> {
    if (events.length === 0) return 0;
    // One partition per batch (BatchConsumer), but stay correct if handed several.
    const byPartition = new Map<string, UnmatchedEvent[]>();
    for (const e of events) {
      const key = `${e.message.topic}\u0000${e.message.partition}`;
      const list = byPartition.get(key);
      if (list) list.push(e);
      else byPartition.set(key, [e]);
    }
    const perType = new Map<string, number>();
    for (const list of byPartition.values()) {
      const { topic, partition } = list[0].message;
      const last = list.reduce(
        (m, e) => (BigInt(e.message.offset) > m ? BigInt(e.message.offset) : m),
        -1n,
      );
      // The row lock orders this against a concurrent (fenced, late) batch of the partition.
      const [mark]: { next_offset: string }[] = await manager.query(
        `INSERT INTO ${tables.unmatched_progress} AS p ("topic", "partition", "next_offset")
         VALUES ($1, $2, 0)
         ON CONFLICT ("topic", "partition") DO UPDATE SET "next_offset" = p."next_offset"
         RETURNING "next_offset"`,
        [topic, partition],
      );
      const next = BigInt(mark.next_offset);
      const fresh = list.filter((e) => BigInt(e.message.offset) >= next);
      for (const e of fresh) perType.set(e.eventType, (perType.get(e.eventType) ?? 0) + 1);
      if (last + 1n > next) {
        await manager.query(
          `UPDATE ${tables.unmatched_progress} SET "next_offset" = $3
           WHERE "topic" = $1 AND "partition" = $2`,
          [topic, partition, (last + 1n).toString()],
        );
      }
    }
    if (perType.size === 0) return 0;
    const types = [...perType.keys()].sort();
    await manager.query(
      `INSERT INTO ${tables.unmatched_events} AS u ("event_type", "day", "count")
       SELECT t, $2::date, n FROM unnest($1::text[], $3::bigint[]) AS x(t, n)
       ON CONFLICT ("event_type", "day") DO UPDATE
         SET "count" = u."count" + EXCLUDED."count", "last_seen_at" = now()`,
      [types, dayOf(nowMs), types.map((t) => perType.get(t))],
    );
    return types.reduce((n, t) => n + perType.get(t)!, 0);
  }

  /**
   * Deletes up to `limit` rows of days more than `days` before today (UTC), oldest first: a
   * day's counts go once its last event arrived more than `days` days ago. The progress marks
   * stay (one per partition, and what keeps a redelivered batch from counting twice). How many
   * rows went.
   */
  async forgetOlderThan(days: number, limit: number): Promise<number> {
    return deleteBatch(this.dataSource, {
      table: tables.unmatched_events,
      where: `"day" < (now() AT TIME ZONE 'UTC')::date - $1::int`,
      orderBy: '"day"',
      params: [days],
      limit,
    });
  }

  /**
   * Counts per type over the days from `from` to `to` (inclusive, UTC dates), most first: at
   * most `limit` types, with how many there were (a window function over the groups, in the
   * same statement), so a cut list says so.
   */
  async list(
    from: string | undefined,
    to: string | undefined,
    limit = UNMATCHED_LIST_LIMIT,
  ): Promise<UnmatchedList> {
    const rows: { event_type: string; count: string; first: Date; last: Date; types: string }[] =
      await this.dataSource.query(
        `SELECT "event_type", SUM("count")::text AS "count", MIN("first_seen_at") AS "first",
           MAX("last_seen_at") AS "last", COUNT(*) OVER ()::text AS "types"
         FROM ${tables.unmatched_events}
         WHERE ($1::date IS NULL OR "day" >= $1::date) AND ($2::date IS NULL OR "day" <= $2::date)
         GROUP BY "event_type" ORDER BY SUM("count") DESC, "event_type" LIMIT $3`,
        [from ?? null, to ?? null, limit],
      );
    const typeCount = rows.length > 0 ? Number(rows[0].types) : 0;
    return {
      types: rows.map((r) => ({
        eventType: r.event_type,
        count: r.count,
        firstSeenAt: new Date(r.first).toISOString(),
        lastSeenAt: new Date(r.last).toISOString(),
      })),
      typeCount,
      truncated: typeCount > rows.length,
    };
  }
}
