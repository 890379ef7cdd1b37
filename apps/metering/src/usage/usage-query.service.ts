import { Inject, Injectable } from '@nestjs/common';
import { type ExactInt, toExactInt } from '@paygate/database';
import { DomainError } from '@paygate/problem-details';
import { DataSource } from 'typeorm';
import type { Aggregation } from '../meters/meter';
import { meterDefinitions } from '../meters/meter-definitions.repository';
import type { Granularity, UsageQueryDto } from './usage-query.dto';
import { usageRollups } from './usage-rollups.repository';

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

/** Usage reports from the minute rollups, any window and granularity, split by groups. */
@Injectable()
export class UsageQueryService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async report(query: UsageQueryDto): Promise<UsageReport> {
    const meter = await meterDefinitions.aggregationOf(this.dataSource, query.meterKey);
    if (!meter) {
      throw new DomainError('not-found', `meter ${query.meterKey} does not exist`, {
        meterKey: query.meterKey,
      });
    }
    const groupBy = query.groupBy ?? [];
    // Own names only: `in` also finds `constructor` on every object's prototype.
    const unknown = groupBy.filter((g) => !Object.hasOwn(meter.group_by, g));
    if (unknown.length > 0) {
      throw new DomainError(
        'validation-failed',
        `meter ${query.meterKey} has no group ${unknown[0]}`,
        {
          errors: [{ field: 'groupBy', messages: [`unknown groups: ${unknown.join(', ')}`] }],
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
    const rows = await usageRollups.buckets(
      this.dataSource,
      aggregation,
      query,
      granularity,
      groupBy,
    );
    return rows.map((r) => ({
      ...(r.start !== null ? { start: new Date(r.start).toISOString() } : {}),
      ...(r.grp !== null ? { group: r.grp } : {}),
      value: r.value === null ? null : toExactInt(r.value),
      events: toExactInt(r.events),
    }));
  }
}
