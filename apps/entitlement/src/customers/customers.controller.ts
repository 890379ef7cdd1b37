import { Body, Controller, Get, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, UuidParam } from '@paygate/http';
import { Customer } from './customer.entity';
import { CreateCustomerDto, ListCustomersDto, UpdateCustomerDto } from './customer.dto';
import { CustomersService } from './customers.service';

@Controller('v1/customers')
@UseGuards(AdminTokenGuard)
export class CustomersController {
  constructor(private readonly customers: CustomersService) {}

  @Post()
  create(@Body() dto: CreateCustomerDto): Promise<Customer> {
    return this.customers.create(dto);
  }

  @Get()
  list(@Query() query: ListCustomersDto): Promise<{ customers: Customer[]; next?: string }> {
    return this.customers.list(query);
  }

  /** Fields left out keep their value; `email` and `stripeCustomerId` take null to clear them. */
  @Patch(':id')
  update(@Param('id', UuidParam) id: string, @Body() dto: UpdateCustomerDto): Promise<Customer> {
    return this.customers.update(id, dto);
  }

  @Get(':id')
  get(@Param('id', UuidParam) id: string): Promise<Customer> {
    return this.customers.get(id);
  }
}
