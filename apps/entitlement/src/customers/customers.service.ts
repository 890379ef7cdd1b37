import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@paygate/problem-details';
import { DataSource, MoreThan } from 'typeorm';
import { EntitlementChanges } from '../changes/entitlement-changes';
import { Customer } from './customer.entity';
import { CreateCustomerDto, ListCustomersDto, UpdateCustomerDto } from './customer.dto';

@Injectable()
export class CustomersService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly changes: EntitlementChanges,
  ) {}

  /** Creates a customer and announces it (metering may hold or refuse unknown customers' usage). */
  create(dto: CreateCustomerDto): Promise<Customer> {
    return this.dataSource.transaction(async (manager) => {
      const repo = manager.getRepository(Customer);
      const customer = await repo.save(repo.create({ name: dto.name, email: dto.email ?? null }));
      await this.changes.record(manager, customer.id, 'customer-created');
      return customer;
    });
  }

  async get(id: string): Promise<Customer> {
    const customer = await this.dataSource.getRepository(Customer).findOneBy({ id });
    if (!customer) throw new DomainError('not-found', `Customer ${id} does not exist.`);
    return customer;
  }

  async update(id: string, dto: UpdateCustomerDto): Promise<Customer> {
    return this.dataSource.transaction(async (manager) => {
      const repo = manager.getRepository(Customer);
      const customer = await repo.findOneBy({ id });
      if (!customer) throw new DomainError('not-found', `Customer ${id} does not exist.`);
      if (dto.name !== undefined) customer.name = dto.name;
      if (dto.email !== undefined) customer.email = dto.email;
      if (dto.stripeCustomerId !== undefined) customer.stripeCustomerId = dto.stripeCustomerId;
      if (dto.blocked !== undefined && dto.blocked !== customer.blocked) {
        customer.blocked = dto.blocked;
        // Gateways drop what they keep for the customer, so the block holds within a second.
        await this.changes.record(manager, customer.id, 'customer-changed');
      }
      return repo.save(customer);
    });
  }

  /** Pages in id order (ids are random, so the order is stable, not chronological). */
  async list(query: ListCustomersDto): Promise<{ customers: Customer[]; next?: string }> {
    const limit = query.limit ?? 50;
    const customers = await this.dataSource.getRepository(Customer).find({
      where: query.after ? { id: MoreThan(query.after) } : {},
      order: { id: 'ASC' },
      take: limit,
    });
    return {
      customers,
      next: customers.length === limit ? customers[customers.length - 1].id : undefined,
    };
  }
}
