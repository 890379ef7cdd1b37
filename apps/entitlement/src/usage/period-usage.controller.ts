import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, UuidParam } from '@paygate/http';
import { FeatureUsageView, PeriodUsageService } from './period-usage.service';

@Controller('v1/customers/:customerId/usage')
@UseGuards(AdminTokenGuard)
export class PeriodUsageController {
  constructor(private readonly usage: PeriodUsageService) {}

  @Get()
  current(
    @Param('customerId', UuidParam) customerId: string,
  ): Promise<{ plan: string | null; features: FeatureUsageView[] }> {
    return this.usage.current(customerId);
  }
}
