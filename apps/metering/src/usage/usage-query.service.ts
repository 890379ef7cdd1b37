import { Inject, Injectable } from '@nestjs/common';
import { type ExactInt, toExactInt } from '@paygate/database';
import { DomainError } from '@paygate/problem-details';
import { DataSource } from 'typeorm';
import type { Aggregation } from '../meters/meter';
import type { Granularity, UsageQueryDto } from './usage-query.dto';

export interface UsageBucket {
  /** Bucket start (UTC), absent when the query has no granularity. */
  start?: string;
  /** Values of the requested groups (null where events had none). */
  group?: Record<string, string | null>;
  /**
   * The aggregated value: a JSON number within ±(2^53 − 1), an exact decimal string beyond
   * (sums of many large values; Postgres numeric, never rounded). Null for max and latest
   * without events.
   */
  value: ExactInt | null;
  /** Number of events: a JSON number, or an exact decimal string past 2^53 − 1. */
  events: ExactInt;
}

export interface UsageReport {
  customerId: string;
  meterKey: string;
  aggregation: Aggregation;
  from: string | null;
  to: string | null;
  granularity: Granularity | null;
  groupBy: string[];
  /** Same types as a bucket's value and events. */
  total: { value: ExactInt | null; events: ExactInt };
  buckets: UsageBucket[];
}

/** How each aggregation combines minute rows (of the rollups table) into a bigger window. */
const VALUE_SQL: Record<Exclude<Aggregation, 'unique_count'>, string> = {
  sum: 'SUM("value_sum")',
  count: 'SUM("event_count")',
  max: 'MAX("value_max")',
  latest: '(array_agg("latest_value" ORDER BY "latest_at" DESC))[1]',
};

interface Row {
  start: Date | null;
  grp: Record<string, string | null> | null;
  value: string | null;
  events: string;
}

/** Usage reports from the minute rollups, any window and granularity, split by groups. */
@Injectable()
export class UsageQueryService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async report(query: UsageQueryDto): Promise<UsageReport> {
    const [meter]: { aggregation: Aggregation; group_by: Record<string, string> }[] =
      await this.dataSource.query(
        `SELECT "aggregation", "group_by" FROM "metering"."meters" WHERE "key" = $1`,
        [query.meterKey],
      );
    if (!meter) {
      throw new DomainError('not-found', `meter ${query.meterKey} does not exist`, {
        meterKey: query.meterKey,
      });
    }
    const groupBy = query.groupBy ?? [];
    const unknown = groupBy.filter((g) => !(g in meter.group_by));
    if (unknown.length > 0) {
      throw new DomainError(
        'validation-failed',
        `meter ${query.meterKey} has no group ${unknown[0]}`,
        {
          errors: [{ field: 'groupBy', message: `unknown groups: ${unknown.join(', ')}` }],
        },
      );
    }
    const granularity = query.granularity ?? null;
    const [totals] = await this.rows(meter.aggregation, query, null, []);
    const buckets =
      granularity === null && groupBy.length === 0
        ? []
        : await this.rows(meter.aggregation, query, granularity, groupBy);
    return {
      customerId: query.customerId,
      meterKey: query.meterKey,
      aggregation: meter.aggregation,
      from: query.from ?? null,
      to: query.to ?? null,
      granularity,
      groupBy,
      total: {
        // No events: nothing counted is 0, but there is no maximum or latest value.
        value: totals?.value ?? (['max', 'latest'].includes(meter.aggregation) ? null : 0),
        events: totals?.events ?? 0,
      },
      buckets,
    };
  }

  private async rows(
    aggregation: Aggregation,
    query: UsageQueryDto,
    granularity: Granularity | null,
    groupBy: string[],
  ): Promise<UsageBucket[]> {
    const params: unknown[] = [
      query.customerId,
      query.meterKey,
      query.from ?? null,
      query.to ?? null,
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
                 FROM "metering"."rollups" WHERE ${where} GROUP BY 1, 2) e
           LEFT JOIN (SELECT ${startSql} AS "start", ${groupSql} AS "grp", COUNT(DISTINCT "value_hash") AS "value"
                      FROM "metering"."unique_values" WHERE ${where} GROUP BY 1, 2) u
             ON u."start" IS NOT DISTINCT FROM e."start" AND u."grp" IS NOT DISTINCT FROM e."grp"
           ORDER BY 1, 2`
        : `SELECT ${startSql} AS "start", ${groupSql} AS "grp", ${VALUE_SQL[aggregation]} AS "value",
             SUM("event_count") AS "events"
           FROM "metering"."rollups" WHERE ${where} GROUP BY 1, 2 ORDER BY 1, 2`;
    const rows: Row[] = await this.dataSource.query(sql, params);
    return rows.map((r) => ({
      ...(r.start !== null ? { start: new Date(r.start).toISOString() } : {}),
      ...(r.grp !== null ? { group: r.grp } : {}),
      value: r.value === null ? null : toExactInt(r.value),
      events: toExactInt(r.events),
    }));
  }
}
