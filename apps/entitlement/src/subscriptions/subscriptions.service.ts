import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@paygate/problem-details';
import { DataSource } from 'typeorm';
import { CustomersService } from '../customers/customers.service';
import { PlansService } from '../plans/plans.service';
import { CreateSubscriptionDto, UpdateSubscriptionDto } from './subscription.dto';
import { Subscription } from './subscription.entity';

const MONTH_MS = 30 * 24 * 3600 * 1000;

@Injectable()
export class SubscriptionsService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly customers: CustomersService,
    private readonly plans: PlansService,
  ) {}

  async create(customerId: string, dto: CreateSubscriptionDto): Promise<Subscription> {
    await this.customers.get(customerId);
    await this.plans.get(dto.planId);
    const start = dto.currentPeriodStart ? new Date(dto.currentPeriodStart) : new Date();
    const end = dto.currentPeriodEnd
      ? new Date(dto.currentPeriodEnd)
      : new Date(start.getTime() + MONTH_MS);
    if (end <= start) {
      throw new DomainError('validation-failed', 'The period must end after it starts.', {
        errors: [{ field: 'currentPeriodEnd', messages: ['must be after currentPeriodStart'] }],
      });
    }
    const repo = this.dataSource.getRepository(Subscription);
    return repo.save(
      repo.create({
        customerId,
        planId: dto.planId,
        status: dto.status ?? 'active',
        currentPeriodStart: start,
        currentPeriodEnd: end,
      }),
    );
  }

  async update(id: string, dto: UpdateSubscriptionDto): Promise<Subscription> {
    const repo = this.dataSource.getRepository(Subscription);
    const subscription = await repo.findOneBy({ id });
    if (!subscription) throw new DomainError('not-found', `Subscription ${id} does not exist.`);
    subscription.status = dto.status;
    return repo.save(subscription);
  }

  list(customerId: string): Promise<Subscription[]> {
    return this.dataSource
      .getRepository(Subscription)
      .find({ where: { customerId }, order: { createdAt: 'DESC' } });
  }
}
