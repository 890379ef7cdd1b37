import {
  Body,
  Controller,
  Delete,
  Get,
  Param,
  Patch,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { AdminTokenGuard } from '@paygate/http';
import { CreateMeterDto, ListMetersDto, UpdateMeterDto } from './meter.dto';
import { MeterVersionView, MeterView, MetersService } from './meters.service';

@Controller('v1/meters')
@UseGuards(AdminTokenGuard)
export class MetersController {
  constructor(private readonly meters: MetersService) {}

  @Post()
  create(@Body() dto: CreateMeterDto): Promise<MeterView> {
    return this.meters.create(dto);
  }

  @Get()
  async list(@Query() query: ListMetersDto): Promise<{ meters: MeterView[] }> {
    return { meters: await this.meters.list(query.includeArchived ?? false) };
  }

  @Get(':key')
  get(@Param('key') key: string): Promise<MeterView & { versions: MeterVersionView[] }> {
    return this.meters.get(key);
  }

  @Patch(':key')
  update(@Param('key') key: string, @Body() dto: UpdateMeterDto): Promise<MeterView> {
    return this.meters.update(key, dto);
  }

  /** Archives: the meter stops reading events, and its usage stays queryable. */
  @Delete(':key')
  archive(@Param('key') key: string): Promise<MeterView> {
    return this.meters.archive(key);
  }
}
