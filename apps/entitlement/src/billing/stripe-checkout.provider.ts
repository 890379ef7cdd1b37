import type { PaymentOutcome, PaymentProvider, TopUp } from './payment-provider';

/**
 * Top-ups through Stripe Checkout (payment mode): the customer pays on Stripe's page, and the
 * webhook's checkout.session.completed (metadata paygate_customer_id and credits) grants the
 * credits once. One credit is sold at `unitAmountCents`.
 */
export class StripeCheckoutProvider implements PaymentProvider {
  readonly name = 'stripe' as const;

  constructor(
    private readonly secretKey: string,
    private readonly options: { currency: string; unitAmountCents: number },
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  async topUp(request: TopUp): Promise<PaymentOutcome> {
    const form = new URLSearchParams({
      mode: 'payment',
      success_url: request.returnUrl,
      cancel_url: request.returnUrl,
      'line_items[0][quantity]': String(request.credits),
      'line_items[0][price_data][currency]': this.options.currency,
      'line_items[0][price_data][unit_amount]': String(this.options.unitAmountCents),
      'line_items[0][price_data][product_data][name]': 'Credits',
      'metadata[paygate_customer_id]': request.customerId,
      'metadata[credits]': String(request.credits),
    });
    const response = await this.fetchFn('https://api.stripe.com/v1/checkout/sessions', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.secretKey}`,
        'content-type': 'application/x-www-form-urlencoded',
        'idempotency-key': request.idempotencyKey,
      },
      body: form.toString(),
    });
    const body = (await response.json().catch(() => ({}))) as { url?: string };
    if (!response.ok || typeof body.url !== 'string')
      throw new Error(`Stripe Checkout answered ${response.status}`);
    return { kind: 'redirect', url: body.url };
  }
}
