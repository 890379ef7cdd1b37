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
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { FEATURE_KINDS, FeatureKind, LIMIT_POLICIES, LimitPolicy } from './plan-feature.entity';

const KEY = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export class PlanFeatureDto {
  @Matches(KEY)
  key!: string;

  @IsIn(FEATURE_KINDS)
  kind!: FeatureKind;

  @ValidateIf((f: PlanFeatureDto) => f.kind === 'metered')
  @Matches(KEY)
  meterKey?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  includedUnits?: number;

  @IsOptional()
  @IsIn(LIMIT_POLICIES)
  limitPolicy?: LimitPolicy;

  @IsOptional()
  @IsInt()
  @Min(0)
  unitPrice?: number;
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
