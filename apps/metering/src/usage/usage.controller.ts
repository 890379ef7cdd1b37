import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@paygate/http';
import { UsageQueryDto } from './usage-query.dto';
import { UsageQueryService, UsageReport } from './usage-query.service';

@Controller('v1/usage')
@UseGuards(AdminTokenGuard)
export class UsageController {
  constructor(private readonly usage: UsageQueryService) {}

  /** Usage of one customer's meter over a window, with its total, buckets and groups. */
  @Get()
  report(@Query() query: UsageQueryDto): Promise<UsageReport> {
    return this.usage.report(query);
  }
}
