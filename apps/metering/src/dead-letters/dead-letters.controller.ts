import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, PageQueryDto } from '@paygate/http';
import { IsDateString, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { DEAD_LETTER_REASONS } from '../usage/usage-batch';
import { DeadLetterView, DeadLettersService } from './dead-letters.service';

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

/** Recent dead letters, newest first, and their replay once the cause is fixed. */
@Controller('v1/dead-letters')
@UseGuards(AdminTokenGuard)
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  async recent(@Query() query: DeadLetterQueryDto): Promise<{ deadLetters: DeadLetterView[] }> {
    return { deadLetters: await this.deadLetters.recent(query) };
  }

  @Post('replay')
  @HttpCode(202)
  async replay(@Body() dto: ReplayDeadLettersDto): Promise<{ replayed: number }> {
    return { replayed: await this.deadLetters.replay(dto) };
  }
}
