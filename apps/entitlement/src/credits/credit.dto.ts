import {
  EXPIRY_INPUT_RANGE,
  IntegerText,
  IsDisplayText,
  IsInDateInputRange,
  IsRfc3339DateTime,
  PageQueryDto,
} from '@paygate/http';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { GRANT_SOURCES, GrantSource } from './grants.service';

export class CreateGrantDto {
  @IsInt()
  @Min(1)
  @Max(9_007_199_254_740_991) // Number.MAX_SAFE_INTEGER; a literal, so OpenAPI shows it
  amount!: number;

  @IsOptional()
  @IsString()
  @Length(1, 500)
  @IsDisplayText('lines')
  description?: string;

  @IsOptional()
  @IsIn(GRANT_SOURCES)
  source?: Exclude<GrantSource, 'migrated' | 'returned' | 'authorization'>;

  /** Lower burns first. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  priority?: number;

  /**
   * When the credits become usable; default now.
   * From 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z.
   */
  @IsOptional()
  @IsRfc3339DateTime()
  @IsInDateInputRange()
  effectiveAt?: string;

  /**
   * When what is left of the grant expires; never by default.
   * From 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
   */
  @IsOptional()
  @IsRfc3339DateTime()
  @IsInDateInputRange(EXPIRY_INPUT_RANGE)
  expiresAt?: string;
}

export class LedgerQueryDto extends PageQueryDto {
  @IsOptional()
  @IntegerText()
  @IsInt()
  @Min(1)
  @Max(9_007_199_254_740_991) // Number.MAX_SAFE_INTEGER; a literal, so OpenAPI shows it
  before?: number;
}
