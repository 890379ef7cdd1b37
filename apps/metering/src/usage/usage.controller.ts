import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@paygate/http';
import { UsageQueryDto } from './usage-query.dto';
import { UsageQueryService, UsageReport } from './usage-query.service';
import { UnmatchedQueryDto } from './unmatched-query.dto';
import { UnmatchedEventsRepository, UnmatchedList } from './unmatched-events.repository';

@Controller('v1/usage')
@UseGuards(AdminTokenGuard)
export class UsageController {
  constructor(
    private readonly usage: UsageQueryService,
    private readonly unmatched: UnmatchedEventsRepository,
  ) {}

  /**
   * Events whose type no meter reads, counted per type (UTC days of arrival): what publishers
   * send that nothing bills, so an operator can add the meter or fix the publisher. The 1,000
   * most frequent types, with `typeCount` and `truncated` saying whether there were more.
   */
  @Get('unmatched')
  unmatchedEvents(@Query() query: UnmatchedQueryDto): Promise<UnmatchedList> {
    return this.unmatched.list(query.from, query.to);
  }

  /** Usage of one customer's meter over a window, with its total, buckets and groups. */
  @Get()
  report(@Query() query: UsageQueryDto): Promise<UsageReport> {
    return this.usage.report(query);
  }
}
