import Stripe from 'stripe';
import type { PaymentOutcome, PaymentProvider, TopUp } from './payment-provider';

/**
 * Stripe behind the billing page, with Stripe's own SDK. Top-ups through Checkout (payment
 * mode): the customer pays on
 * Stripe's page, and the webhook's checkout.session.completed (metadata paygate_customer_id
 * and credits) grants the credits once. One credit is sold at `unitAmountCents`.
 */
export class StripeCheckoutProvider implements PaymentProvider {
  readonly name = 'stripe' as const;

  constructor(
    private readonly stripe: Stripe,
    private readonly options: { currency: string; unitAmountCents: number },
  ) {}

  async topUp(request: TopUp): Promise<PaymentOutcome> {
    const session = await this.stripe.checkout.sessions.create(
      {
        mode: 'payment',
        success_url: request.returnUrl,
        cancel_url: request.returnUrl,
        line_items: [
          {
            quantity: request.credits,
            price_data: {
              currency: this.options.currency,
              unit_amount: this.options.unitAmountCents,
              product_data: { name: 'Credits' },
            },
          },
        ],
        metadata: { paygate_customer_id: request.customerId, credits: String(request.credits) },
      },
      { idempotencyKey: request.idempotencyKey },
    );
    if (!session.url) throw new Error('Stripe Checkout returned no URL');
    return { kind: 'redirect', url: session.url };
  }

  /**
   * Stripe's customer portal: payment method, open invoices, and plan changes (which come back
   * as customer.subscription.updated, mapped by STRIPE_PLAN_PRICES).
   */
  async manage(request: {
    providerCustomerId: string;
    returnUrl: string;
  }): Promise<PaymentOutcome> {
    const session = await this.stripe.billingPortal.sessions.create({
      customer: request.providerCustomerId,
      return_url: request.returnUrl,
    });
    return { kind: 'redirect', url: session.url };
  }
}
