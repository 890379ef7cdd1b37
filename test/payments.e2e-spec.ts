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

  beforeAll(() =>
    stack.start(undefined, {
      STRIPE_PLAN_PRICES: 'price_e2e_team=e2e-team,price_e2e_payg=pay-as-you-go',
    }),
  );
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

  describe('events out of order and more than once (Stripe delivers both)', () => {
    // One subscription's story, in the order Stripe made it: invoice 1 fails, then is paid on
    // its second attempt; invoice 2 needs an action, fails, is paid; then the subscription is
    // deleted. Each event's effect is the status after it, when it is the newest applied.
    const t0 = 1_790_000_000;
    const story = (subscriptionId: string) => {
      const metadata = { paygate_subscription_id: subscriptionId };
      const invoice = (created: number, attempt: number) => ({
        object: 'invoice',
        created,
        attempt_count: attempt,
        subscription_details: { metadata },
      });
      const at = (id: string, type: string, object: object, created: number) => ({
        ...stripeEvent(`evt_${id}_${subscriptionId}`, type, object),
        created,
      });
      return [
        { status: 'past_due', event: at('a', 'invoice.payment_failed', invoice(t0, 1), t0 + 10) },
        { status: 'active', event: at('b', 'invoice.paid', invoice(t0, 2), t0 + 20) },
        {
          status: 'incomplete',
          event: at('c', 'invoice.payment_action_required', invoice(t0 + 100, 1), t0 + 110),
        },
        {
          status: 'past_due',
          event: at('d', 'invoice.payment_failed', invoice(t0 + 100, 1), t0 + 111),
        },
        { status: 'active', event: at('e', 'invoice.paid', invoice(t0 + 100, 2), t0 + 120) },
        {
          status: 'canceled',
          event: at(
            'f',
            'customer.subscription.deleted',
            { object: 'subscription', metadata },
            t0 + 200,
          ),
        },
      ];
    };
    const outcomeOf = async (event: object) =>
      ((await (await send(event)).json()) as { outcome: string }).outcome;

    it('every pair of the supported events, in both orders: the newer one decides, an older one changes nothing', async () => {
      const seen: string[] = [];
      const steps = story('x').length;
      for (let first = 0; first < steps; first++) {
        for (let second = 0; second < steps; second++) {
          if (first === second) continue;
          const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 3, 'order');
          const events = story(demo.subscriptionId);
          const [a, b] = [events[first], events[second]];
          expect(await outcomeOf(a.event)).toBe('applied');
          expect(await subscriptionStatus(demo.customerId)).toBe(a.status);
          // Deletion is final; otherwise the later event in the story wins.
          const newer = first === steps - 1 ? a : second > first ? b : a;
          const outcome = await outcomeOf(b.event);
          expect(outcome).toBe(newer === b ? 'applied' : 'stale');
          const status = await subscriptionStatus(demo.customerId);
          seen.push(`${first}${second}:${status}`);
          expect(status).toBe(newer.status);
          // A duplicate of either changes nothing either.
          expect(await outcomeOf(a.event)).toBe('duplicate');
          expect(await subscriptionStatus(demo.customerId)).toBe(newer.status);
          // Status events never touch the ledger.
          const balance = await (
            await fetch(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`, {
              headers: admin,
            })
          ).json();
          expect(balance).toMatchObject({ available: 3 });
        }
      }
      expect(seen).toHaveLength(30);
    });

    it('concurrent deliveries of a shuffled story, each event three times: the newest decides, each applied at most once', async () => {
      const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'concurrent');
      // Without the deletion: the last invoice's payment is the newest.
      const events = story(demo.subscriptionId).slice(0, 5);
      const deliveries = [...events, ...events, ...events]
        .map((e) => ({ e, key: Math.random() }))
        .sort((x, y) => x.key - y.key)
        .map(({ e }) => e.event);
      const outcomes = await Promise.all(deliveries.map(outcomeOf));
      expect(outcomes.filter((o) => o === 'applied').length).toBeGreaterThanOrEqual(1);
      expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(10);
      expect(await subscriptionStatus(demo.customerId)).toBe('active');
    });

    it('plan changes: an older one delivered late does not undo a newer one', async () => {
      const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'plans');
      const metadata = { paygate_subscription_id: demo.subscriptionId };
      const team = (await (
        await fetch(`${stack.url('entitlement')}/v1/plans`, {
          method: 'POST',
          headers: { ...admin, 'content-type': 'application/json' },
          body: JSON.stringify({
            key: 'e2e-team',
            name: 'Team',
            features: [{ key: 'export', kind: 'boolean' }],
          }),
        })
      ).json()) as { id: string };
      const change = (id: string, price: string, created: number) => ({
        ...stripeEvent(`evt_${id}_${demo.subscriptionId}`, 'customer.subscription.updated', {
          object: 'subscription',
          metadata,
          items: { data: [{ price: { id: price } }] },
        }),
        created,
      });
      const planId = async () =>
        (
          (await (
            await fetch(
              `${stack.url('entitlement')}/v1/customers/${demo.customerId}/subscriptions`,
              {
                headers: admin,
              },
            )
          ).json()) as { planId: string }[]
        )[0].planId;
      // Newer: to Team. Older, delivered after it: back to the demo plan.
      expect(await outcomeOf(change('new', 'price_e2e_team', t0 + 50))).toBe('applied');
      expect(await outcomeOf(change('old', 'price_e2e_payg', t0 + 40))).toBe('stale');
      expect(await planId()).toBe(team.id);
    });
  });
});
