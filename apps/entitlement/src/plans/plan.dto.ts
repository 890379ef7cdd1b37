import { DOMAIN_KEY } from '@paygate/contracts';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  FEATURE_KINDS,
  FeatureKind,
  LIMIT_POLICIES,
  LimitPolicy,
  USAGE_PERIODS,
  UsagePeriod,
} from './plan-terms';

const KEY = DOMAIN_KEY;

export class PlanFeatureDto {
  @Matches(KEY)
  key!: string;

  @IsIn(FEATURE_KINDS)
  kind!: FeatureKind;

  @ValidateIf((f: PlanFeatureDto) => f.kind === 'metered')
  @Matches(KEY)
  meterKey?: string;

  /** At most 2^53 − 1: stored as bigint, read back as an exact JSON number. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(9_007_199_254_740_991) // Number.MAX_SAFE_INTEGER; a literal, so OpenAPI shows it
  includedUnits?: number;

  @IsOptional()
  @IsIn(LIMIT_POLICIES)
  limitPolicy?: LimitPolicy;

  /** At most 2^53 − 1: stored as bigint, read back as an exact JSON number. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(9_007_199_254_740_991) // Number.MAX_SAFE_INTEGER; a literal, so OpenAPI shows it
  unitPrice?: number;

  @IsOptional()
  @IsIn(USAGE_PERIODS)
  usagePeriod?: UsagePeriod;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  softLimitPercent?: number;

  @ValidateIf(
    (f: PlanFeatureDto) =>
      f.rateLimitWindowSeconds !== undefined || f.rateLimitRequests !== undefined,
  )
  @IsInt()
  @Min(1)
  @Max(2_147_483_647) // the column is Postgres int
  rateLimitRequests?: number;

  @ValidateIf(
    (f: PlanFeatureDto) =>
      f.rateLimitWindowSeconds !== undefined || f.rateLimitRequests !== undefined,
  )
  @IsInt()
  @Min(1)
  @Max(86_400)
  rateLimitWindowSeconds?: number;

  /**
   * The most requests of this feature in flight at once for a customer, across every gateway
   * replica; more get a 429 until one finishes. Absent: no limit.
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  concurrencyLimit?: number;
}

export class CreatePlanDto {
  @Matches(KEY)
  key!: string;

  @IsString()
  @Length(1, 200)
  name!: string;

  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => PlanFeatureDto)
  features!: PlanFeatureDto[];
}
