import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { GrantsService } from '../credits/grants.service';
import type { PaymentOutcome, PaymentProvider, TopUp } from './payment-provider';

/**
 * Succeeds at once: a top-up becomes a purchase grant right away (once per idempotency key).
 * For the demo and the tests; BILLING_PAYMENT_PROVIDER must never be `demo` in production.
 */
@Injectable()
export class DemoPaymentProvider implements PaymentProvider {
  readonly name = 'demo' as const;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly grants: GrantsService,
  ) {}

  async topUp(request: TopUp): Promise<PaymentOutcome> {
    await this.dataSource.transaction((manager) =>
      this.grants.create(manager, {
        customerId: request.customerId,
        amount: request.credits,
        source: 'purchase',
        idempotencyKey: `billing-page:${request.idempotencyKey}`,
        description: 'demo payment from the billing page',
      }),
    );
    return { kind: 'done' };
  }
}
