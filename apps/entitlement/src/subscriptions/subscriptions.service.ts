import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { DomainError } from '@paygate/problem-details';
import { DataSource, EntityManager } from 'typeorm';
import { EntitlementChanges } from '../changes/entitlement-changes';
import { CustomersService } from '../customers/customers.service';
import { PlansService } from '../plans/plans.service';
import { periodBoundary } from './billing-period';
import { CreateSubscriptionDto, UpdateSubscriptionDto } from './subscription.dto';
import { Subscription } from './subscription.entity';

const invalid = (field: string, message: string) =>
  new DomainError('validation-failed', message, { errors: [{ field, messages: [message] }] });

@Injectable()
export class SubscriptionsService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly customers: CustomersService,
    private readonly plans: PlansService,
    @Inject(Clock) private readonly clock: Clock,
    private readonly changes: EntitlementChanges,
  ) {}

  async create(customerId: string, dto: CreateSubscriptionDto): Promise<Subscription> {
    await this.customers.get(customerId);
    await this.plans.get(dto.planId);
    const interval = dto.billingInterval ?? 'month';
    const start = dto.currentPeriodStart ? new Date(dto.currentPeriodStart) : this.clock.now();
    const end = dto.currentPeriodEnd
      ? new Date(dto.currentPeriodEnd)
      : periodBoundary(start, interval, 1);
    if (end <= start)
      throw invalid('currentPeriodEnd', 'currentPeriodEnd must be after currentPeriodStart');
    const status = dto.status ?? 'active';
    return this.dataSource.transaction(async (manager) => {
      const subscription = await manager.save(
        manager.create(Subscription, {
          customerId,
          planId: dto.planId,
          status,
          currentPeriodStart: start,
          currentPeriodEnd: end,
          billingInterval: interval,
          // A trial's end starts the billing cycle; otherwise the first period's start does.
          billingAnchor: dto.currentPeriodEnd && status === 'trialing' ? end : start,
          cancelAtPeriodEnd: false,
          pendingPlanId: null,
          pastDueSince: status === 'past_due' ? this.clock.now() : null,
          gracePeriodSeconds: dto.gracePeriodSeconds ?? 3 * 24 * 3600,
        }),
      );
      await this.changes.record(manager, customerId, 'subscription-created', {
        subscriptionId: subscription.id,
      });
      return subscription;
    });
  }

  /** Applies the change in the caller's transaction when one is given (payment events do). */
  async update(
    id: string,
    dto: UpdateSubscriptionDto,
    outer?: EntityManager,
  ): Promise<Subscription> {
    if (!outer) return this.dataSource.transaction((manager) => this.update(id, dto, manager));
    const manager = outer;
    const subscription = await manager.findOne(Subscription, {
      where: { id },
      lock: { mode: 'pessimistic_write' },
    });
    if (!subscription) throw new DomainError('not-found', `Subscription ${id} does not exist.`);
    if (dto.planId !== undefined) {
      await this.plans.get(dto.planId);
      if (dto.planChange === 'now') {
        subscription.planId = dto.planId;
        subscription.pendingPlanId = null;
      } else {
        subscription.pendingPlanId = dto.planId;
      }
    }
    if (dto.status !== undefined && dto.status !== subscription.status) {
      // The grace period runs from the moment the subscription became past due.
      subscription.pastDueSince = dto.status === 'past_due' ? this.clock.now() : null;
      subscription.status = dto.status;
    }
    if (dto.cancelAtPeriodEnd !== undefined) subscription.cancelAtPeriodEnd = dto.cancelAtPeriodEnd;
    if (dto.gracePeriodSeconds !== undefined)
      subscription.gracePeriodSeconds = dto.gracePeriodSeconds;
    subscription.updatedAt = this.clock.now();
    const saved = await manager.save(subscription);
    await this.changes.record(manager, subscription.customerId, 'subscription-changed', {
      subscriptionId: id,
    });
    return saved;
  }

  list(customerId: string): Promise<Subscription[]> {
    return this.dataSource
      .getRepository(Subscription)
      .find({ where: { customerId }, order: { createdAt: 'DESC' } });
  }
}
