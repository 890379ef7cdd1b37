import { Inject, Injectable, Logger } from '@nestjs/common';
import { counter } from '@paygate/observability';
import { DomainError } from '@paygate/problem-details';
import { DataSource } from 'typeorm';
import { GrantsService } from '../credits/grants.service';
import { SubscriptionStatus } from '../subscriptions/subscription.entity';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';
import { ProviderEvent } from './payment-event';

const STATUS_AFTER: Record<string, SubscriptionStatus> = {
  'invoice-paid': 'active',
  'payment-failed': 'past_due',
  'payment-pending': 'incomplete',
  'subscription-deleted': 'canceled',
};

export type PaymentOutcome = 'applied' | 'duplicate' | 'over-bound';

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
      const claimed: unknown[] = await manager.query(
        `INSERT INTO "entitlement"."processed_messages" ("id") VALUES ($1) ON CONFLICT DO NOTHING RETURNING "id"`,
        [`payment:${provider}:${id}`],
      );
      if (claimed.length === 0) return 'duplicate';
      if (event.kind === 'credits-purchased') {
        try {
          // In a savepoint: a grant refused for the balance bound leaves nothing behind.
          await manager.transaction((inner) =>
            this.grants.create(inner, {
              customerId: event.customerId,
              amount: event.credits,
              source: 'purchase',
              idempotencyKey: `payment:${provider}:${id}`,
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
        const [plan]: { id: string }[] = await manager.query(
          `SELECT "id" FROM "entitlement"."plans" WHERE "key" = $1 ORDER BY "version" DESC LIMIT 1`,
          [event.planKey],
        );
        // Thrown, so the provider delivers the event again once the plan exists.
        if (!plan) throw new DomainError('not-found', `Plan ${event.planKey} does not exist.`);
        await this.subscriptions.update(
          event.subscriptionId,
          { planId: plan.id, planChange: 'now' },
          manager,
        );
      } else {
        await this.subscriptions.update(
          event.subscriptionId,
          { status: STATUS_AFTER[event.kind] },
          manager,
        );
        if (provider === 'stripe' && 'providerCustomerId' in event && event.providerCustomerId) {
          // Learnt once, for the billing page's link to Stripe's customer portal.
          await manager.query(
            `UPDATE "entitlement"."customers" SET "stripe_customer_id" = $1
             WHERE "id" = (SELECT "customer_id" FROM "entitlement"."subscriptions" WHERE "id" = $2)
               AND "stripe_customer_id" IS NULL`,
            [event.providerCustomerId, event.subscriptionId],
          );
        }
      }
      return 'applied';
    });
  }
}
