import { IsRfc3339DateTime, PageQueryDto } from '@paygate/http';
import { IsDefined, IsIn, IsInt, IsOptional, Max, Min, ValidateIf } from 'class-validator';
import { DEAD_LETTER_REASONS } from '../usage/usage-batch';

export class DeadLetterQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(DEAD_LETTER_REASONS)
  reason?: string;

  /** Only letters dead-lettered at or after this time (RFC 3339). */
  @IsOptional()
  @IsRfc3339DateTime()
  since?: string;
}

/**
 * A replay names what it replays: `reason` is required (null is refused, it never means
 * "every reason"), `since` may be left out but not null, and `limit` is bounded.
 */
export class ReplayDeadLettersDto {
  /** Replay only letters with this reason, e.g. unknown-meter after the meter was defined. */
  @IsDefined()
  @IsIn(DEAD_LETTER_REASONS)
  reason!: string;

  /** Only letters dead-lettered at or after this time (RFC 3339). */
  @ValidateIf((_dto, value) => value !== undefined)
  @IsRfc3339DateTime()
  since?: string;

  /** At most this many: 1 to 1,000, default 1,000 (REPLAY_MAX_LIMIT). */
  @ValidateIf((_dto, value) => value !== undefined)
  @IsInt()
  @Min(1)
  @Max(1_000) // a literal, so that the OpenAPI document states it; = REPLAY_MAX_LIMIT
  limit?: number;
}
