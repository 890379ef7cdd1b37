import { Body, Controller, Get, Param, Post, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, UuidParam } from '@paygate/http';
import { CreatePlanDto } from './plan.dto';
import { Plan } from './plan.entity';
import { PlansService } from './plans.service';

@Controller('v1/plans')
@UseGuards(AdminTokenGuard)
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  @Post()
  create(@Body() dto: CreatePlanDto): Promise<Plan> {
    return this.plans.create(dto);
  }

  @Get()
  list(): Promise<Plan[]> {
    return this.plans.list();
  }

  @Get(':id')
  get(@Param('id', UuidParam) id: string): Promise<Plan> {
    return this.plans.get(id);
  }
}
