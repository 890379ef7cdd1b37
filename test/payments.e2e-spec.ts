import Stripe from 'stripe';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, STRIPE_WEBHOOK_SECRET, Stack } from './support/stack';

/** Stripe webhooks against the real entitlement process, signed with the official helper. */
describe('payment provider webhooks (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 13101,
      entitlementGrpc: 15151,
      metering: 13102,
      gateway: 18180,
      upstream: 14100,
    },
    'payments-',
  );
  const stripe = new Stripe('sk_test_unused');
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const send = (payload: object, secret = STRIPE_WEBHOOK_SECRET) => {
    const body = JSON.stringify(payload);
    return fetch(`${stack.url('entitlement')}/v1/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret }),
      },
      body,
    });
  };
  const stripeEvent = (id: string, type: string, object: object) => ({
    id,
    object: 'event',
    type,
    api_version: '2025-01-01',
    created: Math.floor(Date.now() / 1000),
    data: { object },
  });
  const subscriptionStatus = async (customerId: string) => {
    const list = await (
      await fetch(`${stack.url('entitlement')}/v1/customers/${customerId}/subscriptions`, {
        headers: admin,
      })
    ).json();
    return (list as { status: string }[])[0].status;
  };

  it('moves the subscription on payment failure and payment, applying each event once', async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'E2E stripe');
    const invoice = {
      object: 'invoice',
      subscription_details: { metadata: { paygate_subscription_id: demo.subscriptionId } },
    };
    const failed = stripeEvent(`evt_failed_${demo.customerId}`, 'invoice.payment_failed', invoice);
    const paid = stripeEvent(`evt_paid_${demo.customerId}`, 'invoice.paid', invoice);

    expect(await (await send(failed)).json()).toEqual({ received: true, outcome: 'applied' });
    expect(await subscriptionStatus(demo.customerId)).toBe('past_due');
    expect(await (await send(paid)).json()).toEqual({ received: true, outcome: 'applied' });
    expect(await subscriptionStatus(demo.customerId)).toBe('active');
    // A late replay of the failure must not undo the payment.
    expect(await (await send(failed)).json()).toEqual({ received: true, outcome: 'duplicate' });
    expect(await subscriptionStatus(demo.customerId)).toBe('active');
  });

  it('grants purchased credits once per checkout', async () => {
    const demo = await seedDemoCustomer(
      stack.url('entitlement'),
      ADMIN_TOKEN,
      0,
      'E2E stripe top-up',
    );
    const checkout = stripeEvent(`evt_checkout_${demo.customerId}`, 'checkout.session.completed', {
      object: 'checkout.session',
      payment_status: 'paid',
      metadata: { paygate_customer_id: demo.customerId, credits: '25' },
    });
    await send(checkout);
    await send(checkout);
    const balance = await (
      await fetch(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`, {
        headers: admin,
      })
    ).json();
    expect(balance).toMatchObject({ available: 25 });
  });

  it('refuses a bad signature with a 400 problem and acknowledges unknown events', async () => {
    const bad = await send(stripeEvent('evt_bad', 'invoice.paid', {}), 'whsec_wrong');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/problem\+json/);
    expect(await (await send(stripeEvent('evt_other', 'charge.refunded', {}))).json()).toEqual({
      received: true,
      outcome: 'ignored',
    });
  });
});
