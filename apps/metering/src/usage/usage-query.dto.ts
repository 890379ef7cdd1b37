import { IsNotBefore, IsRfc3339DateTime } from '@paygate/http';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
} from 'class-validator';
import { csv } from '@paygate/config';
import { canonicalCustomerId } from '@paygate/contracts';

export const GRANULARITIES = ['minute', 'hour', 'day', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export class UsageQueryDto {
  /** The customer id (a UUID; spelt otherwise, such as in upper case, read as it is stored). */
  @Transform(({ value }) =>
    typeof value === 'string' ? (canonicalCustomerId(value) ?? value) : value,
  )
  @IsString()
  @Length(1, 256)
  customerId!: string;

  @IsString()
  @Length(1, 64)
  meterKey!: string;

  /** Inclusive start (RFC 3339); buckets are UTC. */
  @IsOptional()
  @IsRfc3339DateTime()
  from?: string;

  /** Exclusive end (RFC 3339), not before `from`. */
  @IsOptional()
  @IsRfc3339DateTime()
  @IsNotBefore('from')
  to?: string;

  /** Split the window into buckets of this size; without it only the total is returned. */
  @IsOptional()
  @IsIn(GRANULARITIES)
  granularity?: Granularity;

  /** Comma-separated group names of the meter to split by, each once. */
  @IsOptional()
  @Transform(({ value }) => csv(value))
  @ArrayMaxSize(8)
  @ArrayUnique({ message: 'groupBy must name each group once' })
  @Matches(/^[a-z][a-z0-9_]{0,63}$/, { each: true, message: 'groupBy names are lowercase' })
  groupBy?: string[];
}
