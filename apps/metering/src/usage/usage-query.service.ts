import { Inject, Injectable } from '@nestjs/common';
import { toSafeInt } from '@paygate/database';
import { DataSource } from 'typeorm';
import { UsageQueryDto } from './usage-query.dto';

export interface UsageTotal {
  customerId: string;
  meterKey: string;
  from: string | null;
  to: string | null;
  value: number;
  events: number;
}

@Injectable()
export class UsageQueryService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** Total of a customer's meter over [from, to), from the minute rollups. */
  async total(query: UsageQueryDto): Promise<UsageTotal> {
    const [row]: { value: string; events: string }[] = await this.dataSource.query(
      `SELECT COALESCE(SUM("value"), 0) AS "value", COALESCE(SUM("event_count"), 0) AS "events"
       FROM "metering"."rollups"
       WHERE "customer_id" = $1 AND "meter_key" = $2
         AND ($3::timestamptz IS NULL OR "bucket_start" >= $3) AND ($4::timestamptz IS NULL OR "bucket_start" < $4)`,
      [query.customerId, query.meterKey, query.from ?? null, query.to ?? null],
    );
    return {
      customerId: query.customerId,
      meterKey: query.meterKey,
      from: query.from ?? null,
      to: query.to ?? null,
      value: toSafeInt(row.value),
      events: toSafeInt(row.events),
    };
  }
}
