import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@paygate/http';
import { DeadLetterQueryDto, ReplayDeadLettersDto } from './dead-letter.dto';
import { DeadLetterView, DeadLettersService } from './dead-letters.service';

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
