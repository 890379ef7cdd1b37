import { Inject, Injectable, Logger } from '@nestjs/common';
import { counter } from '@paygate/observability';
import { DomainError } from '@paygate/problem-details';
import { DataSource, type EntityManager } from 'typeorm';
import { GrantsService } from '../credits/grants.service';
import { plans } from '../plans/plans.repository';
import { SubscriptionStatus } from '../subscriptions/subscription.entity';
import { type ProviderOrderColumn, subscriptions } from '../subscriptions/subscriptions.repository';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';
import { processedMessages } from './processed-messages.repository';
import type { PaymentEvent, ProviderEvent } from './payment-event';

const STATUS_AFTER: Record<string, SubscriptionStatus> = {
  'invoice-paid': 'active',
  'payment-failed': 'past_due',
  'payment-pending': 'incomplete',
  'subscription-deleted': 'canceled',
};

/**
 * `stale`: an event older than one already applied to the subscription (or about a canceled
 * one): acknowledged, nothing changed.
 */
export type PaymentOutcome = 'applied' | 'duplicate' | 'over-bound' | 'stale';

const processed = counter('paygate_payment_events_total', 'Payment provider events by outcome', [
  'outcome',
]);

/** The grant refusal for MAX_BALANCE (GrantsService), told apart by its details. */
const pastBalanceBound = (err: unknown): err is DomainError =>
  err instanceof DomainError && err.code === 'validation-failed' && 'maxBalance' in err.details;

/**
 * Applies a payment provider's event once: the event id is claimed in the same transaction as
 * its effect, so a provider's retry or a replayed webhook changes nothing the second time.
 */
@Injectable()
export class PaymentEventsUseCase {
  private readonly logger = new Logger(PaymentEventsUseCase.name);

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly subscriptions: SubscriptionsService,
    private readonly grants: GrantsService,
  ) {}

  async execute(providerEvent: ProviderEvent): Promise<PaymentOutcome> {
    const outcome = await this.apply(providerEvent);
    processed.inc({ outcome });
    return outcome;
  }

  private apply({ provider, id, event }: ProviderEvent): Promise<PaymentOutcome> {
    return this.dataSource.transaction(async (manager) => {
      if (!(await processedMessages.claim(manager, `payment:${provider}:${id}`)))
        return 'duplicate';
      if (event.kind === 'credits-purchased') {
        try {
          // In a savepoint: a grant refused for the balance bound leaves nothing behind.
          await manager.transaction((inner) =>
            this.grants.create(inner, {
              customerId: event.customerId,
              amount: event.credits,
              source: 'purchase',
              // Per purchase where the provider names it: two events reporting one purchase
              // paid (a retried Checkout session's, or completed and then async-succeeded)
              // grant once.
              idempotencyKey: event.purchaseId
                ? `purchase:${provider}:${event.purchaseId}`
                : `payment:${provider}:${id}`,
              description: `${provider} purchase ${id}`,
            }),
          );
        } catch (err) {
          if (!pastBalanceBound(err)) throw err;
          // Refusing would have the provider retry forever, and the purchase cannot fit on any
          // retry: acknowledged (the event id stays claimed), nothing granted, for an operator
          // to settle (refund, or grant what fits once the balance has room).
          this.logger.error(
            {
              provider,
              eventId: id,
              customerId: event.customerId,
              credits: event.credits,
              balance: err.details.balance,
              maxGrant: err.details.maxGrant,
              maxBalance: err.details.maxBalance,
            },
            'credit purchase past the balance bound: acknowledged, nothing granted',
          );
          return 'over-bound';
        }
      } else if (event.kind === 'plan-changed') {
        if (!(await this.newer(manager, event.subscriptionId, 'provider_plan_order', event.order)))
          return this.stale(provider, id, event);
        const planId = await plans.newestId(manager, event.planKey);
        // Thrown, so the provider delivers the event again once the plan exists.
        if (!planId) throw new DomainError('not-found', `Plan ${event.planKey} does not exist.`);
        await this.subscriptions.update(
          event.subscriptionId,
          { planId, planChange: 'now' },
          manager,
        );
      } else {
        const order = event.kind === 'subscription-deleted' ? undefined : event.order;
        if (!(await this.newer(manager, event.subscriptionId, 'provider_status_order', order)))
          return this.stale(provider, id, event);
        // An ended subscription the customer has since replaced stays ended: refusing the event
        // would have the provider deliver it again for days, and no retry could apply it.
        if (await subscriptions.supersededBy(manager, event.subscriptionId)) {
          this.logger.warn(
            { provider, eventId: id, kind: event.kind, subscriptionId: event.subscriptionId },
            'provider event for a subscription replaced since it ended: acknowledged, not applied',
          );
          return 'stale';
        }
        await this.subscriptions.update(
          event.subscriptionId,
          { status: STATUS_AFTER[event.kind] },
          manager,
        );
        if (provider === 'stripe' && 'providerCustomerId' in event && event.providerCustomerId) {
          // Learnt once, for the billing page's link to Stripe's customer portal.
          await subscriptions.learnStripeCustomer(
            manager,
            event.subscriptionId,
            event.providerCustomerId,
          );
        }
      }
      return 'applied';
    });
  }

  /**
   * Whether the event is newer than every provider event applied to the subscription's status
   * (or plan) before, and if so records its order, under the subscription's row lock, so
   * concurrent deliveries apply in order or not at all. A canceled subscription takes no more
   * status events (`order` undefined: a cancellation, final); an unknown one is left to
   * SubscriptionsService.update, which names it.
   */
  private async newer(
    manager: EntityManager,
    subscriptionId: string,
    column: ProviderOrderColumn,
    order: number[] | undefined,
  ): Promise<boolean> {
    const row = await subscriptions.lockProviderOrder(manager, subscriptionId, column);
    if (!row) return true;
    if (column === 'provider_status_order' && row.status === 'canceled') return false;
    if (order === undefined) return true;
    if (row.last && compareOrders(order, row.last) <= 0) return false;
    await subscriptions.setProviderOrder(manager, subscriptionId, column, order);
    return true;
  }

  private stale(provider: string, id: string, event: PaymentEvent): PaymentOutcome {
    this.logger.log(
      { provider, eventId: id, kind: event.kind },
      'provider event older than the subscription state: acknowledged, not applied',
    );
    return 'stale';
  }
}

/** Element by element; a prefix is smaller. */
export function compareOrders(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
