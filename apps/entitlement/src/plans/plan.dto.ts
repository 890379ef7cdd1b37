import { IsDisplayText } from '@paygate/http';
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
  ValidateBy,
  ValidateIf,
  ValidateNested,
  buildMessage,
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

/**
 * A term of metered features only: a boolean feature has no meter, no included units to count
 * and no price (its decision is on or off), so such a value would be stored and never read, and
 * the operator would believe the plan charges or limits what it does not. Refused naming the
 * field; a feature whose kind is itself invalid is left to that field's rule.
 */
function MeteredOnly(): PropertyDecorator {
  return ValidateBy({
    name: 'meteredOnly',
    validator: {
      validate: (value, args) => {
        const kind = (args?.object as Partial<PlanFeatureDto> | undefined)?.kind;
        return value === undefined || kind !== 'boolean';
      },
      defaultMessage: buildMessage(
        () => '$property is a term of metered features: leave it out of a boolean feature',
      ),
    },
  });
}

export class PlanFeatureDto {
  @Matches(KEY)
  key!: string;

  @IsIn(FEATURE_KINDS)
  kind!: FeatureKind;

  /** Metered features only (required there). */
  @ValidateIf((f: PlanFeatureDto) => f.kind === 'metered' || f.meterKey !== undefined)
  @MeteredOnly()
  @Matches(KEY)
  meterKey?: string;

  /**
   * Metered features only. At most 2^53 − 1: stored as bigint, read back as an exact JSON
   * number.
   */
  @IsOptional()
  @MeteredOnly()
  @IsInt()
  @Min(0)
  @Max(9_007_199_254_740_991) // Number.MAX_SAFE_INTEGER; a literal, so OpenAPI shows it
  includedUnits?: number;

  /** Metered features only. */
  @IsOptional()
  @MeteredOnly()
  @IsIn(LIMIT_POLICIES)
  limitPolicy?: LimitPolicy;

  /**
   * Metered features only. At most 2^53 − 1: stored as bigint, read back as an exact JSON
   * number.
   */
  @IsOptional()
  @MeteredOnly()
  @IsInt()
  @Min(0)
  @Max(9_007_199_254_740_991) // Number.MAX_SAFE_INTEGER; a literal, so OpenAPI shows it
  unitPrice?: number;

  /** Metered features only. */
  @IsOptional()
  @MeteredOnly()
  @IsIn(USAGE_PERIODS)
  usagePeriod?: UsagePeriod;

  /** Metered features only. */
  @IsOptional()
  @MeteredOnly()
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
  @IsDisplayText()
  name!: string;

  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => PlanFeatureDto)
  features!: PlanFeatureDto[];
}
