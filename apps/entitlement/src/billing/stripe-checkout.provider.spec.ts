import { StripeCheckoutProvider } from './stripe-checkout.provider';

describe('Stripe Checkout provider', () => {
  it('creates a payment-mode session whose metadata the webhook grants from, and redirects', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fetchFn = (async (url: string | URL, init: RequestInit = {}) => {
      calls.push({ url: String(url), init });
      return new Response(JSON.stringify({ url: 'https://checkout.stripe.com/c/pay/cs_test_1' }));
    }) as typeof fetch;
    const provider = new StripeCheckoutProvider(
      'sk_test_x',
      { currency: 'eur', unitAmountCents: 10 },
      fetchFn,
    );
    const outcome = await provider.topUp({
      customerId: 'c-1',
      credits: 500,
      returnUrl: 'https://pay.example/billing/t',
      idempotencyKey: 'top-up-1',
    });
    expect(outcome).toEqual({
      kind: 'redirect',
      url: 'https://checkout.stripe.com/c/pay/cs_test_1',
    });
    expect(calls[0].url).toBe('https://api.stripe.com/v1/checkout/sessions');
    const headers = calls[0].init.headers as Record<string, string>;
    expect(headers.authorization).toBe('Bearer sk_test_x');
    expect(headers['idempotency-key']).toBe('top-up-1');
    const form = new URLSearchParams(String(calls[0].init.body));
    expect(Object.fromEntries(form)).toMatchObject({
      mode: 'payment',
      'line_items[0][quantity]': '500',
      'line_items[0][price_data][unit_amount]': '10',
      'metadata[paygate_customer_id]': 'c-1',
      'metadata[credits]': '500',
    });
  });

  it('fails loudly when Stripe refuses', async () => {
    const fetchFn = (async () => new Response('{"error":{}}', { status: 401 })) as typeof fetch;
    const provider = new StripeCheckoutProvider(
      'sk_bad',
      { currency: 'eur', unitAmountCents: 1 },
      fetchFn,
    );
    await expect(
      provider.topUp({ customerId: 'c', credits: 1, returnUrl: 'https://x', idempotencyKey: 'k' }),
    ).rejects.toThrow('Stripe Checkout answered 401');
  });
});
