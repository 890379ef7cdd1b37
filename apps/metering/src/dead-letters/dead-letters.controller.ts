import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@paygate/http';
import { DeadLetterQueryDto, ReplayDeadLettersDto } from './dead-letter.dto';
import { DeadLetterView, DeadLettersService, ReplayReport } from './dead-letters.service';

/** Recent dead letters, newest first, and their replay once the cause is fixed. */
@Controller('v1/dead-letters')
@UseGuards(AdminTokenGuard)
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  async recent(@Query() query: DeadLetterQueryDto): Promise<{ deadLetters: DeadLetterView[] }> {
    return { deadLetters: await this.deadLetters.recent(query) };
  }

  /** One reason at a time, at most 1,000 letters; answers which went and how many are left. */
  @Post('replay')
  @HttpCode(202)
  replay(@Body() dto: ReplayDeadLettersDto): Promise<ReplayReport> {
    return this.deadLetters.replayReport(dto);
  }
}
