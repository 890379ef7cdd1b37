/**
 * What a payment provider tells paygate, in paygate's terms. Provider adapters (Stripe today)
 * translate their webhooks into these; the use-case applies them.
 */
export type PaymentEvent =
  | { kind: 'invoice-paid'; subscriptionId: string }
  | { kind: 'payment-failed'; subscriptionId: string }
  | { kind: 'payment-pending'; subscriptionId: string }
  | { kind: 'subscription-deleted'; subscriptionId: string }
  | { kind: 'credits-purchased'; customerId: string; credits: number };

export interface ProviderEvent {
  provider: string;
  /** The provider's event id: an event is applied once per provider and id. */
  id: string;
  event: PaymentEvent;
}
