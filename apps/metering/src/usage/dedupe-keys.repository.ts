import { deleteBatch, preparedQuery } from '@paygate/database';
import type { DataSource, EntityManager } from 'typeorm';
import { tables } from '../database/schema';

/** An event as claiming its dedupe key names it. */
export interface EventKey {
  source: string;
  id: string;
  timeMs: number;
}

/** The SQL of dedupe keys: the events table keeps one row per event claimed (source, id). */
export const dedupeKeys = {
  /**
   * Claims each event's key, in the order given; returns the (1-based) positions of the
   * events whose key was claimed before.
   */
  async claim(manager: EntityManager, events: EventKey[]): Promise<number[]> {
    // Only the positions of keys claimed before come back (few), not every inserted row.
    // Prepared: once per batch.
    const taken: { n: string }[] = await preparedQuery(
      manager,
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::float8[]) WITH ORDINALITY AS u(s, i, t, n)),
       claimed AS (
         INSERT INTO ${tables.events} ("source", "id", "time")
         SELECT s, i, to_timestamp(t / 1000.0) FROM input ORDER BY n
         ON CONFLICT DO NOTHING RETURNING "source", "id")
       SELECT input.n FROM input LEFT JOIN claimed c ON c."source" = input.s AND c."id" = input.i
       WHERE c."id" IS NULL`,
      [events.map((e) => e.source), events.map((e) => e.id), events.map((e) => e.timeMs)],
    );
    return taken.map((r) => Number(r.n));
  },

  /** Forgets up to `limit` keys of events older than `windowHours`; returns how many went. */
  async forgetOlderThan(runner: DataSource, windowHours: number, limit: number): Promise<number> {
    return deleteBatch(runner, {
      table: tables.events,
      where: `"time" < now() - make_interval(hours => $1)`,
      params: [windowHours],
      limit,
    });
  },
};
