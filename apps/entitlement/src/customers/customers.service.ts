import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@paygate/problem-details';
import { DataSource } from 'typeorm';
import { Customer } from './customer.entity';
import { CreateCustomerDto } from './customer.dto';

@Injectable()
export class CustomersService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  create(dto: CreateCustomerDto): Promise<Customer> {
    const repo = this.dataSource.getRepository(Customer);
    return repo.save(repo.create({ name: dto.name, email: dto.email ?? null }));
  }

  async get(id: string): Promise<Customer> {
    const customer = await this.dataSource.getRepository(Customer).findOneBy({ id });
    if (!customer) throw new DomainError('not-found', `Customer ${id} does not exist.`);
    return customer;
  }
}
