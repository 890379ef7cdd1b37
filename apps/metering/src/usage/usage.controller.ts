import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@paygate/http';
import { UsageQueryDto } from './usage-query.dto';
import { UsageQueryService, UsageTotal } from './usage-query.service';

@Controller('v1/usage')
@UseGuards(AdminTokenGuard)
export class UsageController {
  constructor(private readonly usage: UsageQueryService) {}

  @Get()
  total(@Query() query: UsageQueryDto): Promise<UsageTotal> {
    return this.usage.total(query);
  }
}
