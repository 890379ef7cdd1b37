import type Stripe from 'stripe';
import { compareOrders } from './payment-events.use-case';
import { toPaymentEvent } from './stripe-webhook.controller';

const SUB = '6f1c2b1e-1d7a-4a55-9d3e-2b6f1b0f4a10';
const CUS = '0b8a6a1e-5c1f-4b1e-8f63-3c2f5b7a9e21';

const event = (type: string, object: Record<string, unknown>) =>
  ({ id: 'evt_1', type, created: 1_000, data: { object } }) as unknown as Stripe.Event;

describe('toPaymentEvent (Stripe → paygate)', () => {
  it('maps invoice and subscription events through the paygate subscription id in metadata', () => {
    expect(
      toPaymentEvent(
        event('invoice.paid', {
          subscription_details: { metadata: { paygate_subscription_id: SUB } },
        }),
      ),
    ).toEqual({
      kind: 'invoice-paid',
      subscriptionId: SUB,
      // No invoice timestamp or attempt: the event's own time stands in.
      order: [1_000, 1, 0, 1_000],
    });
    expect(
      toPaymentEvent(
        event('invoice.payment_failed', {
          parent: { subscription_details: { metadata: { paygate_subscription_id: SUB } } },
        }),
      ),
    ).toEqual({ kind: 'payment-failed', subscriptionId: SUB, order: [1_000, 0, 0, 1_000] });
    expect(
      toPaymentEvent(
        event('customer.subscription.deleted', { metadata: { paygate_subscription_id: SUB } }),
      ),
    ).toEqual({
      kind: 'subscription-deleted',
      subscriptionId: SUB,
    });
  });

  it('names the Stripe customer of an invoice, and maps a portal plan change by its price', () => {
    expect(
      toPaymentEvent(
        event('invoice.payment_action_required', {
          customer: 'cus_Q1',
          subscription_details: { metadata: { paygate_subscription_id: SUB } },
        }),
      ),
    ).toEqual({
      kind: 'payment-pending',
      subscriptionId: SUB,
      providerCustomerId: 'cus_Q1',
      order: [1_000, 0, 0, 1_000],
    });
    const prices: Record<string, string> = { price_pro: 'pro' };
    const updated = (price: string) =>
      event('customer.subscription.updated', {
        metadata: { paygate_subscription_id: SUB },
        items: { data: [{ price: { id: price } }] },
      });
    expect(toPaymentEvent(updated('price_pro'), (p) => prices[p])).toEqual({
      kind: 'plan-changed',
      subscriptionId: SUB,
      planKey: 'pro',
      order: [1_000],
    });
    // A price no plan is mapped to (e.g. a quantity change on the same plan) changes nothing.
    expect(toPaymentEvent(updated('price_other'), (p) => prices[p])).toBeUndefined();
  });

  it('turns a paid checkout with paygate metadata into a credit purchase', () => {
    expect(
      toPaymentEvent(
        event('checkout.session.completed', {
          payment_status: 'paid',
          metadata: { paygate_customer_id: CUS, credits: '500' },
        }),
      ),
    ).toEqual({ kind: 'credits-purchased', customerId: CUS, credits: 500 });
  });

  it('credits a checkout paid later by a delayed method, naming the session as the purchase', () => {
    const session = (type: string, payment_status: string) =>
      toPaymentEvent(
        event(type, {
          id: 'cs_test_123',
          payment_status,
          metadata: { paygate_customer_id: CUS, credits: '500' },
        }),
      );
    // A bank debit: the session completes unpaid; the money arrives as its own event.
    expect(session('checkout.session.completed', 'unpaid')).toBeUndefined();
    expect(session('checkout.session.async_payment_succeeded', 'paid')).toEqual({
      kind: 'credits-purchased',
      customerId: CUS,
      credits: 500,
      purchaseId: 'cs_test_123',
    });
    expect(session('checkout.session.async_payment_failed', 'unpaid')).toBeUndefined();
  });

  it('ignores unpaid checkouts, bad metadata and other event types', () => {
    expect(
      toPaymentEvent(
        event('checkout.session.completed', {
          payment_status: 'unpaid',
          metadata: { paygate_customer_id: CUS, credits: '5' },
        }),
      ),
    ).toBeUndefined();
    expect(
      toPaymentEvent(
        event('checkout.session.completed', {
          payment_status: 'paid',
          metadata: { paygate_customer_id: CUS, credits: '-5' },
        }),
      ),
    ).toBeUndefined();
    expect(
      toPaymentEvent(
        event('invoice.paid', { metadata: { paygate_subscription_id: 'not-a-uuid' } }),
      ),
    ).toBeUndefined();
    expect(toPaymentEvent(event('charge.refunded', {}))).toBeUndefined();
  });

  it('orders invoice events by invoice, then paid over not paid, then attempt, then sending time', () => {
    const invoice = (type: string, created: number, attempt: number, sent: number) =>
      toPaymentEvent({
        id: 'evt',
        type,
        created: sent,
        data: {
          object: {
            created,
            attempt_count: attempt,
            subscription_details: { metadata: { paygate_subscription_id: SUB } },
          },
        },
      } as unknown as Stripe.Event) as { order: number[] };
    const failedFirst = invoice('invoice.payment_failed', 100, 1, 110);
    const paidSameSecond = invoice('invoice.paid', 100, 1, 110);
    const nextInvoiceFailed = invoice('invoice.payment_failed', 200, 1, 210);
    expect(compareOrders(paidSameSecond.order, failedFirst.order)).toBeGreaterThan(0);
    expect(compareOrders(nextInvoiceFailed.order, paidSameSecond.order)).toBeGreaterThan(0);
    expect(compareOrders(failedFirst.order, failedFirst.order)).toBe(0);
    expect(compareOrders([5], [5, 0])).toBeLessThan(0);
  });
});
