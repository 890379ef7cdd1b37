/**
 * What a payment provider tells paygate, in paygate's terms. Provider adapters (Stripe today)
 * translate their webhooks into these; the use-case applies them.
 *
 * `order`: where the event stands among the provider's events about the same subscription,
 * compared element by element (newer is greater). Providers deliver out of order; an event
 * whose order is not above the last applied one changes nothing (PaymentEventsUseCase).
 */
export type PaymentEvent =
  | { kind: 'invoice-paid'; subscriptionId: string; providerCustomerId?: string; order: number[] }
  | { kind: 'payment-failed'; subscriptionId: string; providerCustomerId?: string; order: number[] }
  | {
      kind: 'payment-pending';
      subscriptionId: string;
      providerCustomerId?: string;
      order: number[];
    }
  /** Final: no later payment event brings a canceled subscription back. */
  | { kind: 'subscription-deleted'; subscriptionId: string }
  /** The customer changed plan at the provider (e.g. in Stripe's customer portal). */
  | { kind: 'plan-changed'; subscriptionId: string; planKey: string; order: number[] }
  | {
      kind: 'credits-purchased';
      customerId: string;
      credits: number;
      /**
       * The provider's purchase (a Stripe Checkout Session id): credited once per purchase,
       * whichever of its events reports it paid. Without it, once per event.
       */
      purchaseId?: string;
    };

export interface ProviderEvent {
  provider: string;
  /** The provider's event id: an event is applied once per provider and id. */
  id: string;
  event: PaymentEvent;
}
