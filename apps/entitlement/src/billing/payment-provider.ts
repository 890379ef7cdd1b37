/** What a billing page action leads to: done at once, or continue at the provider. */
export type PaymentOutcome = { kind: 'done' } | { kind: 'redirect'; url: string };

export interface TopUp {
  customerId: string;
  credits: number;
  /** Where the provider sends the customer back. */
  returnUrl: string;
  /** Makes a double-submitted form a single purchase. */
  idempotencyKey: string;
}

/**
 * The billing page's payment actions, behind one adapter: a demo provider that succeeds at
 * once, and Stripe Checkout. Effects come back through the existing paths (the demo provider
 * writes them itself; Stripe's arrive by the signed webhook, checkout.session.completed).
 */
export interface PaymentProvider {
  readonly name: 'demo' | 'stripe';
  topUp(request: TopUp): Promise<PaymentOutcome>;
  /**
   * The provider's own page for the payment method, open invoices and plan changes (Stripe's
   * customer portal), for a customer the provider knows.
   */
  manage?(request: { providerCustomerId: string; returnUrl: string }): Promise<PaymentOutcome>;
}

export const PAYMENT_PROVIDER = Symbol('PAYMENT_PROVIDER');
