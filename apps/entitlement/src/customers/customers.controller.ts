import { Body, Controller, Get, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@paygate/http';
import { Customer } from './customer.entity';
import { CreateCustomerDto } from './customer.dto';
import { CustomersService } from './customers.service';

@Controller('v1/customers')
@UseGuards(AdminTokenGuard)
export class CustomersController {
  constructor(private readonly customers: CustomersService) {}

  @Post()
  create(@Body() dto: CreateCustomerDto): Promise<Customer> {
    return this.customers.create(dto);
  }

  @Get(':id')
  get(@Param('id', ParseUUIDPipe) id: string): Promise<Customer> {
    return this.customers.get(id);
  }
}
