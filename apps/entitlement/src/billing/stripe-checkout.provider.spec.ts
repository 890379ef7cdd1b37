import Stripe from 'stripe';
import { StripeCheckoutProvider } from './stripe-checkout.provider';

/** Stripe's SDK over a recording fetch: the request it would send, and a canned answer. */
function recordingStripe(status: number, body: object) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchFn = (async (url: string | URL, init: RequestInit = {}) => {
    calls.push({ url: String(url), init });
    return new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', 'request-id': 'req_1' },
    });
  }) as typeof fetch;
  const stripe = new Stripe('sk_test_x', {
    httpClient: Stripe.createFetchHttpClient(fetchFn),
    maxNetworkRetries: 0,
  });
  return { stripe, calls };
}

describe('Stripe Checkout provider', () => {
  it('creates a payment-mode session whose metadata the webhook grants from, and redirects', async () => {
    const { stripe, calls } = recordingStripe(200, {
      id: 'cs_test_1',
      object: 'checkout.session',
      url: 'https://checkout.stripe.com/c/pay/cs_test_1',
    });
    const provider = new StripeCheckoutProvider(stripe, { currency: 'eur', unitAmountCents: 10 });
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
    const headers = new Headers(calls[0].init.headers);
    expect(headers.get('authorization')).toBe('Bearer sk_test_x');
    expect(headers.get('idempotency-key')).toBe('top-up-1');
    const form = new URLSearchParams(String(calls[0].init.body));
    expect(Object.fromEntries(form)).toMatchObject({
      mode: 'payment',
      'line_items[0][quantity]': '500',
      'line_items[0][price_data][unit_amount]': '10',
      'metadata[paygate_customer_id]': 'c-1',
      'metadata[credits]': '500',
    });
  });

  it("opens Stripe's customer portal for a customer Stripe knows", async () => {
    const { stripe, calls } = recordingStripe(200, {
      id: 'bps_1',
      object: 'billing_portal.session',
      url: 'https://billing.stripe.com/p/session/test_1',
    });
    const provider = new StripeCheckoutProvider(stripe, { currency: 'eur', unitAmountCents: 1 });
    expect(
      await provider.manage({ providerCustomerId: 'cus_Q1', returnUrl: 'https://pay.example/b/t' }),
    ).toEqual({ kind: 'redirect', url: 'https://billing.stripe.com/p/session/test_1' });
    expect(calls[0].url).toBe('https://api.stripe.com/v1/billing_portal/sessions');
    expect(Object.fromEntries(new URLSearchParams(String(calls[0].init.body)))).toEqual({
      customer: 'cus_Q1',
      return_url: 'https://pay.example/b/t',
    });
  });

  it('fails loudly when Stripe refuses', async () => {
    const { stripe } = recordingStripe(401, {
      error: { type: 'invalid_request_error', message: 'Invalid API Key provided' },
    });
    const provider = new StripeCheckoutProvider(stripe, { currency: 'eur', unitAmountCents: 1 });
    await expect(
      provider.topUp({ customerId: 'c', credits: 1, returnUrl: 'https://x', idempotencyKey: 'k' }),
    ).rejects.toThrow('Invalid API Key provided');
  });
});
