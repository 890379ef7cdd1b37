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

  beforeAll(() => stack.start(undefined, { STRIPE_PLAN_PRICES: 'price_e2e_team=e2e-team' }));
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

  it("learns the Stripe customer from an invoice and follows a plan change made in Stripe's portal", async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'E2E portal');
    const metadata = { paygate_subscription_id: demo.subscriptionId };
    const cus = `cus_e2e${demo.customerId.replace(/-/g, '').slice(0, 12)}`;
    await send(
      stripeEvent(`evt_inv_${demo.customerId}`, 'invoice.paid', {
        object: 'invoice',
        customer: cus,
        subscription_details: { metadata },
      }),
    );
    const customer = await (
      await fetch(`${stack.url('entitlement')}/v1/customers/${demo.customerId}`, { headers: admin })
    ).json();
    expect(customer).toMatchObject({ stripeCustomerId: cus });

    const team = await (
      await fetch(`${stack.url('entitlement')}/v1/plans`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({
          key: 'e2e-team',
          name: 'Team',
          features: [{ key: 'export', kind: 'boolean' }],
        }),
      })
    ).json();
    const updated = stripeEvent(`evt_upd_${demo.customerId}`, 'customer.subscription.updated', {
      object: 'subscription',
      metadata,
      items: { data: [{ price: { id: 'price_e2e_team' } }] },
    });
    expect(await (await send(updated)).json()).toEqual({ received: true, outcome: 'applied' });
    const [subscription] = (await (
      await fetch(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/subscriptions`, {
        headers: admin,
      })
    ).json()) as { planId: string }[];
    expect(subscription.planId).toBe((team as { id: string }).id);
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
