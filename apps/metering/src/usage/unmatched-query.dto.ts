import { IsNotBefore } from '@paygate/http';
import { IsISO8601, IsOptional, Matches } from 'class-validator';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export class UnmatchedQueryDto {
  /** First UTC day counted (YYYY-MM-DD), inclusive; all days when absent. */
  @IsOptional()
  @Matches(DAY, { message: 'from must be a date (YYYY-MM-DD)' })
  @IsISO8601({ strict: true })
  from?: string;

  /** Last UTC day counted (YYYY-MM-DD), inclusive; not before `from`. */
  @IsOptional()
  @Matches(DAY, { message: 'to must be a date (YYYY-MM-DD)' })
  @IsISO8601({ strict: true })
  @IsNotBefore('from')
  to?: string;
}
