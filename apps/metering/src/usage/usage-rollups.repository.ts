import { preparedQuery } from '@paygate/database';
import type { DataSource, EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import type { Aggregation } from '../meters/meter';
import type { RollupDelta, UniqueValue } from './rollup-deltas';
import type { Granularity } from './usage-query.dto';

const isoOf = (ms: number) => new Date(ms).toISOString();

/** The rollup row each delta or value is for, as the first five column arrays of an unnest. */
const rowKeys = (rows: (RollupDelta | UniqueValue)[]) => [
  rows.map((r) => r.customerId),
  rows.map((r) => r.meterKey),
  rows.map((r) => r.meterVersion),
  rows.map((r) => r.group),
  rows.map((r) => isoOf(r.bucketMs)),
];

/** How each aggregation combines minute rows (of the rollups table) into a bigger window. */
const VALUE_SQL: Record<Exclude<Aggregation, 'unique_count'>, string> = {
  sum: 'SUM("value_sum")',
  count: 'SUM("event_count")',
  max: 'MAX("value_max")',
  latest: '(array_agg("latest_value" ORDER BY "latest_at" DESC))[1]',
};

/** Which rollups a report reads: one customer's usage of one meter, within a window. */
export interface RollupWindow {
  customerId: string;
  meterKey: string;
  /** Inclusive start and exclusive end (timestamps); open where absent. */
  from?: string;
  to?: string;
}

/** One bucket of a report, as Postgres returns it (numeric and bigint as text). */
export interface RollupBucketRow {
  start: Date | null;
  grp: Record<string, string | null> | null;
  value: string | null;
  events: string;
}

/**
 * The SQL of the minute rollups (rollups) and of the distinct values unique_count meters
 * count (unique_values): ingestion adds to them, usage reports read them.
 */
export const usageRollups = {
  /** Adds batch deltas to their minute rows (none: no query). Prepared: once per batch. */
  async add(manager: EntityManager, rows: RollupDelta[]): Promise<void> {
    if (rows.length === 0) return;
    await preparedQuery(
      manager,
      `INSERT INTO ${tables.rollups} AS r ("customer_id", "meter_key", "meter_version",
         "group_key", "bucket_start", "value_sum", "value_max", "latest_value", "latest_at", "event_count")
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::jsonb[], $5::timestamptz[],
         $6::numeric[], $7::bigint[], $8::bigint[], $9::timestamptz[], $10::bigint[])
       ON CONFLICT ("customer_id", "meter_key", "bucket_start", "group_key", "meter_version") DO UPDATE
         SET "value_sum" = r."value_sum" + EXCLUDED."value_sum",
             "value_max" = GREATEST(r."value_max", EXCLUDED."value_max"),
             "latest_value" = CASE WHEN r."latest_at" IS NULL OR EXCLUDED."latest_at" >= r."latest_at"
               THEN EXCLUDED."latest_value" ELSE r."latest_value" END,
             "latest_at" = GREATEST(r."latest_at", EXCLUDED."latest_at"),
             "event_count" = r."event_count" + EXCLUDED."event_count"`,
      [
        ...rowKeys(rows),
        rows.map((r) => r.sum),
        rows.map((r) => r.max),
        rows.map((r) => r.latest),
        rows.map((r) => isoOf(r.latestMs)),
        rows.map((r) => r.count),
      ],
    );
  },

  /** Records distinct values, each once per rollup row (none: no query). */
  async addUniqueValues(manager: EntityManager, rows: UniqueValue[]): Promise<void> {
    if (rows.length === 0) return;
    await preparedQuery(
      manager,
      `INSERT INTO ${tables.unique_values} ("customer_id", "meter_key", "meter_version",
         "group_key", "bucket_start", "value_hash")
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::jsonb[], $5::timestamptz[], $6::uuid[])
       ON CONFLICT DO NOTHING`,
      [...rowKeys(rows), rows.map((r) => r.hash)],
    );
  },

  /**
   * The window's usage, aggregated as the meter does, per bucket of `granularity` (one row
   * without) and per combination of the `groupBy` groups' values; ordered by bucket and group.
   */
  buckets(
    runner: EntityManager | DataSource,
    aggregation: Aggregation,
    window: RollupWindow,
    granularity: Granularity | null,
    groupBy: string[],
  ): Promise<RollupBucketRow[]> {
    const params: unknown[] = [
      window.customerId,
      window.meterKey,
      window.from ?? null,
      window.to ?? null,
    ];
    const startSql =
      granularity === null
        ? 'NULL::timestamptz'
        : `date_trunc($${params.push(granularity)}::text, "bucket_start", 'UTC')`;
    const groupSql =
      groupBy.length === 0
        ? 'NULL::jsonb'
        : `jsonb_build_object(${groupBy
            .map((g) => {
              const i = params.push(g);
              return `$${i}::text, "group_key"->>$${i}::text`;
            })
            .join(', ')})`;
    const where = `"customer_id" = $1 AND "meter_key" = $2
      AND ($3::timestamptz IS NULL OR "bucket_start" >= $3) AND ($4::timestamptz IS NULL OR "bucket_start" < $4)`;
    // Events always come from the rollups; unique_count's value from the distinct values.
    const sql =
      aggregation === 'unique_count'
        ? `SELECT e."start", e."grp", COALESCE(u."value", 0) AS "value", e."events"
           FROM (SELECT ${startSql} AS "start", ${groupSql} AS "grp", SUM("event_count") AS "events"
                 FROM ${tables.rollups} WHERE ${where} GROUP BY 1, 2) e
           LEFT JOIN (SELECT ${startSql} AS "start", ${groupSql} AS "grp", COUNT(DISTINCT "value_hash") AS "value"
                      FROM ${tables.unique_values} WHERE ${where} GROUP BY 1, 2) u
             ON u."start" IS NOT DISTINCT FROM e."start" AND u."grp" IS NOT DISTINCT FROM e."grp"
           ORDER BY 1, 2`
        : `SELECT ${startSql} AS "start", ${groupSql} AS "grp", ${VALUE_SQL[aggregation]} AS "value",
             SUM("event_count") AS "events"
           FROM ${tables.rollups} WHERE ${where} GROUP BY 1, 2 ORDER BY 1, 2`;
    return runner.query(sql, params);
  },
};
