/**
 * What a payment provider tells paygate, in paygate's terms. Provider adapters (Stripe today)
 * translate their webhooks into these; the use-case applies them.
 */
export type PaymentEvent =
  | { kind: 'invoice-paid'; subscriptionId: string; providerCustomerId?: string }
  | { kind: 'payment-failed'; subscriptionId: string; providerCustomerId?: string }
  | { kind: 'payment-pending'; subscriptionId: string; providerCustomerId?: string }
  | { kind: 'subscription-deleted'; subscriptionId: string }
  /** The customer changed plan at the provider (e.g. in Stripe's customer portal). */
  | { kind: 'plan-changed'; subscriptionId: string; planKey: string }
  | { kind: 'credits-purchased'; customerId: string; credits: number };

export interface ProviderEvent {
  provider: string;
  /** The provider's event id: an event is applied once per provider and id. */
  id: string;
  event: PaymentEvent;
}
