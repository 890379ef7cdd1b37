import { Inject, Injectable } from '@nestjs/common';
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
      } else {
        await this.subscriptions.update(
          event.subscriptionId,
          { status: STATUS_AFTER[event.kind] },
          manager,
        );
      }
      return 'applied';
    });
  }
}
