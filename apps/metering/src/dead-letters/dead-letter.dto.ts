import { PageQueryDto } from '@paygate/http';
import { IsDateString, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { DEAD_LETTER_REASONS } from '../usage/usage-batch';

export class DeadLetterQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(DEAD_LETTER_REASONS)
  reason?: string;

  /** Only letters dead-lettered at or after this time (RFC 3339). */
  @IsOptional()
  @IsDateString({ strict: true })
  since?: string;
}

export class ReplayDeadLettersDto {
  /** Replay only letters with this reason, e.g. unknown-meter after the meter was defined. */
  @IsOptional()
  @IsIn(DEAD_LETTER_REASONS)
  reason?: string;

  @IsOptional()
  @IsDateString({ strict: true })
  since?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  limit?: number;
}
