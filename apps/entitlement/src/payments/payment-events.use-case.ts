import { Inject, Injectable } from '@nestjs/common';
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

/**
 * Applies a payment provider's event once: the event id is claimed in the same transaction as
 * its effect, so a provider's retry or a replayed webhook changes nothing the second time.
 */
@Injectable()
export class PaymentEventsUseCase {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly subscriptions: SubscriptionsService,
    private readonly grants: GrantsService,
  ) {}

  execute({ provider, id, event }: ProviderEvent): Promise<'applied' | 'duplicate'> {
    return this.dataSource.transaction(async (manager) => {
      const claimed: unknown[] = await manager.query(
        `INSERT INTO "entitlement"."processed_messages" ("id") VALUES ($1) ON CONFLICT DO NOTHING RETURNING "id"`,
        [`payment:${provider}:${id}`],
      );
      if (claimed.length === 0) return 'duplicate';
      if (event.kind === 'credits-purchased') {
        await this.grants.create(manager, {
          customerId: event.customerId,
          amount: event.credits,
          source: 'purchase',
          idempotencyKey: `payment:${provider}:${id}`,
          description: `${provider} purchase ${id}`,
        });
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
