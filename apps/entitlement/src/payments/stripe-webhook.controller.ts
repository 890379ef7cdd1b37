import { isUUID } from 'class-validator';
import { Controller, HttpCode, Inject, Logger, Post, Req } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import { ProblemException } from '@paygate/problem-details';
import type { FastifyRequest } from 'fastify';
import Stripe from 'stripe';
import { DEV_STRIPE_WEBHOOK_SECRET, EntitlementConfig } from '../config/entitlement.config';
import { PaymentEvent } from './payment-event';
import { PaymentEventsUseCase } from './payment-events.use-case';

type Metadata = Record<string, string> | null | undefined;

/**
 * Stripe's objects name paygate's records in their metadata: `paygate_subscription_id` on the
 * Stripe subscription (invoices carry it in `subscription_details`), and `paygate_customer_id`
 * plus `credits` on a Checkout Session that buys credits.
 */
export function toPaymentEvent(
  event: Stripe.Event,
  planForPrice: (priceId: string) => string | undefined = () => undefined,
): PaymentEvent | undefined {
  const object = event.data.object as unknown as {
    id?: string;
    metadata?: Metadata;
    subscription_details?: { metadata?: Metadata } | null;
    parent?: { subscription_details?: { metadata?: Metadata } | null } | null;
    payment_status?: string;
    customer?: string | { id?: string } | null;
    items?: { data?: { price?: { id?: string } | null }[] } | null;
    created?: number;
    attempt_count?: number;
  };
  const stripeCustomer =
    typeof object.customer === 'string' ? object.customer : (object.customer?.id ?? undefined);
  const providerCustomerId = stripeCustomer?.startsWith('cus_') ? stripeCustomer : undefined;
  const withCustomer = providerCustomerId ? { providerCustomerId } : {};
  const subscriptionId =
    object.metadata?.paygate_subscription_id ??
    object.subscription_details?.metadata?.paygate_subscription_id ??
    object.parent?.subscription_details?.metadata?.paygate_subscription_id;
  const valid = (id: string | undefined): id is string => id !== undefined && isUUID(id);
  // Invoices in the order they were created; within one invoice, paid is final (an invoice
  // once paid does not fail again), then the payment attempt, then when the event was sent
  // (whole seconds: events of one second are told apart by the rest).
  const sent = wholeSeconds(event.created) ?? 0;
  const invoiceOrder = (paid: boolean) => [
    wholeSeconds(object.created) ?? sent,
    paid ? 1 : 0,
    wholeSeconds(object.attempt_count) ?? 0,
    sent,
  ];
  switch (event.type) {
    case 'invoice.paid':
      return valid(subscriptionId)
        ? { kind: 'invoice-paid', subscriptionId, ...withCustomer, order: invoiceOrder(true) }
        : undefined;
    case 'invoice.payment_failed':
      return valid(subscriptionId)
        ? { kind: 'payment-failed', subscriptionId, ...withCustomer, order: invoiceOrder(false) }
        : undefined;
    case 'invoice.payment_action_required':
      return valid(subscriptionId)
        ? { kind: 'payment-pending', subscriptionId, ...withCustomer, order: invoiceOrder(false) }
        : undefined;
    case 'customer.subscription.updated': {
      // A plan change in Stripe's customer portal: the new price names the paygate plan.
      const price = object.items?.data?.[0]?.price?.id;
      const planKey = price ? planForPrice(price) : undefined;
      return valid(subscriptionId) && planKey
        ? { kind: 'plan-changed', subscriptionId, planKey, order: [sent] }
        : undefined;
    }
    case 'customer.subscription.deleted':
      return valid(subscriptionId) ? { kind: 'subscription-deleted', subscriptionId } : undefined;
    // A card pays at once: the session completes paid. A delayed method (a bank debit, which
    // Checkout offers when the account enables it) completes unpaid, and the money arriving
    // days later is its own event. Either credits the session once (purchaseId).
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const customerId = object.metadata?.paygate_customer_id;
      const credits = Number(object.metadata?.credits);
      if (object.payment_status !== 'paid' || !valid(customerId)) return undefined;
      if (!Number.isSafeInteger(credits) || credits <= 0) return undefined;
      const purchaseId = typeof object.id === 'string' && object.id !== '' ? object.id : undefined;
      return {
        kind: 'credits-purchased',
        customerId,
        credits,
        ...(purchaseId ? { purchaseId } : {}),
      };
    }
    default:
      return undefined;
  }
}

/** A non-negative whole number from a provider's object, or undefined. */
function wholeSeconds(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined;
}

@Controller('v1/webhooks')
export class StripeWebhookController {
  private readonly logger = new Logger(StripeWebhookController.name);
  // The key is only needed for API calls; verifying webhooks needs the endpoint secret alone.
  private readonly stripe: Stripe;

  constructor(
    @Inject(EntitlementConfig) private readonly config: EntitlementConfig,
    private readonly payments: PaymentEventsUseCase,
  ) {
    this.stripe = new Stripe(config.STRIPE_SECRET_KEY ?? 'sk_unused_webhooks_only');
    if (config.STRIPE_WEBHOOK_SECRET === DEV_STRIPE_WEBHOOK_SECRET)
      this.logger.warn(
        'Stripe webhooks use the public development secret: anyone who reaches this port can sign events (set STRIPE_WEBHOOK_SECRET for anything but a local demo)',
      );
  }

  /** Verifies the Stripe-Signature over the raw body, then applies the event once. */
  @Post('stripe')
  @HttpCode(200)
  async receive(
    @Req() request: RawBodyRequest<FastifyRequest>,
  ): Promise<{ received: true; outcome: string }> {
    const secret = this.config.STRIPE_WEBHOOK_SECRET;
    if (!secret)
      throw new ProblemException({
        code: 'not-found',
        detail: 'Stripe webhooks are not configured.',
      });
    const signature = request.headers['stripe-signature'];
    let event: Stripe.Event;
    try {
      if (typeof signature !== 'string' || !request.rawBody)
        throw new Error('missing signature or body');
      event = this.stripe.webhooks.constructEvent(request.rawBody, signature, secret);
    } catch (err) {
      throw new ProblemException({
        code: 'validation-failed',
        detail: 'The Stripe-Signature header does not verify.',
        extensions: { errors: [{ field: 'Stripe-Signature', messages: [(err as Error).message] }] },
      });
    }
    const paymentEvent = toPaymentEvent(event, (price) => this.config.STRIPE_PLAN_PRICES[price]);
    if (!paymentEvent) {
      // Acknowledged so Stripe does not retry an event paygate has no use for.
      this.logger.log({ type: event.type, id: event.id }, 'stripe event ignored');
      return { received: true, outcome: 'ignored' };
    }
    const outcome = await this.payments.execute({
      provider: 'stripe',
      id: event.id,
      event: paymentEvent,
    });
    return { received: true, outcome };
  }
}
