import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { violatesUnique } from '@paygate/database';
import { DomainError } from '@paygate/problem-details';
import { DataSource, EntityManager } from 'typeorm';
import { EntitlementChanges } from '../changes/entitlement-changes';
import { PlansService } from '../plans/plans.service';
import { periodBoundary } from './billing-period';
import { CreateSubscriptionDto, UpdateSubscriptionDto } from './subscription.dto';
import { ENDED_STATUSES, Subscription, type SubscriptionStatus } from './subscription.entity';
import { ONE_LIVE_SUBSCRIPTION_INDEX, subscriptions } from './subscriptions.repository';

const invalid = (field: string, message: string) =>
  new DomainError('validation-failed', message, { errors: [{ field, messages: [message] }] });

const ended = (status: SubscriptionStatus) => ENDED_STATUSES.includes(status);

/**
 * Runs a write of a subscription, answering a second live subscription of the customer (the
 * OneLiveSubscription index refused it) with a 409 instead of a 500.
 */
async function oneLive<T>(customerId: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!violatesUnique(err, ONE_LIVE_SUBSCRIPTION_INDEX)) throw err;
    throw new DomainError(
      'conflict',
      `Customer ${customerId} has another live subscription: end it first (status canceled or expired).`,
      { customerId },
    );
  }
}

@Injectable()
export class SubscriptionsService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly plans: PlansService,
    @Inject(Clock) private readonly clock: Clock,
    private readonly changes: EntitlementChanges,
  ) {}

  /**
   * Creates the customer's subscription, which replaces their live one (canceled, in the same
   * transaction): the customer's newest subscription is the one that counts. Creates for one
   * customer take turns on the customer's row, so concurrent ones each replace the one before
   * and a single subscription stays live (the OneLiveSubscription index holds it regardless).
   */
  async create(customerId: string, dto: CreateSubscriptionDto): Promise<Subscription> {
    // Before the transaction: it reads on a connection of its own.
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
      if (!(await subscriptions.lockCustomer(manager, customerId)))
        throw new DomainError('not-found', `Customer ${customerId} does not exist.`);
      // An ended one (history written after the fact) replaces nothing.
      if (!ended(status)) await subscriptions.cancelLive(manager, customerId, this.clock.now());
      const subscription = await oneLive(customerId, () =>
        manager.save(
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
        ),
      );
      // It covers the replaced subscription too: gateways drop all they keep for the customer.
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
      // Revived: it waits for creates of the customer's subscriptions (which lock the customer
      // first, as here), so that it is refused if one of them made another subscription live.
      if (ended(subscription.status) && !ended(dto.status))
        await subscriptions.lockCustomer(manager, subscription.customerId);
      // The grace period runs from the moment the subscription became past due.
      subscription.pastDueSince = dto.status === 'past_due' ? this.clock.now() : null;
      subscription.status = dto.status;
    }
    if (dto.cancelAtPeriodEnd !== undefined) subscription.cancelAtPeriodEnd = dto.cancelAtPeriodEnd;
    if (dto.gracePeriodSeconds !== undefined)
      subscription.gracePeriodSeconds = dto.gracePeriodSeconds;
    subscription.updatedAt = this.clock.now();
    const saved = await oneLive(subscription.customerId, () => manager.save(subscription));
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
