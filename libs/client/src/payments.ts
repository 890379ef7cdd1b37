import type { PaymentRequiredError } from './problem-errors';

/** One way to pay a 402, as the problem's `payment` member lists it (docs/payments.md). */
export interface PaymentOffer {
  /** CAIP-2 network, e.g. `eip155:8453`. */
  network: string;
  asset: string;
  payTo: string;
  /** In the asset's smallest unit, decimal digits (may exceed 2^53). */
  amount: string;
  x402?: { scheme: string };
  /** Present when a `WWW-Authenticate: Payment` challenge carries this offer. */
  paymentAuth?: { id: string; method: string; intent: string };
}

/** What the wallet is asked to pay: only offers the budget allows are in `offers`. */
export interface PaymentRequest {
  offers: PaymentOffer[];
  /** The x402 `PAYMENT-REQUIRED` header, for an x402 wallet. */
  paymentRequired?: string;
  /** The `WWW-Authenticate` value (fetch joins the challenges with ", "), for a Payment-scheme wallet. */
  wwwAuthenticate?: string;
  problem: PaymentRequiredError;
}

/**
 * The wallet's answer: the offer it paid and the request headers that carry the credential
 * (`PAYMENT-SIGNATURE`, or `Authorization: Payment …`).
 */
export interface PaymentCredential {
  offer: PaymentOffer;
  headers: Record<string, string>;
}

export interface PaymentOptions {
  /**
   * Your code that pays: given the affordable offers, pay one and return its credential, or
   * undefined to decline (the 402 is then thrown as usual).
   */
  wallet: (request: PaymentRequest) => Promise<PaymentCredential | undefined>;
  /**
   * The most one call may pay, per `<network>/<asset>`, in the asset's smallest unit. Offers
   * in assets not listed here, or above the amount, are never shown to the wallet.
   */
  maxPerCall: Record<string, string>;
  /** The most this client pays over its life, per `<network>/<asset>`. */
  maxPerSession: Record<string, string>;
}

const DIGITS = /^(0|[1-9][0-9]{0,77})$/;
const assetKey = (o: { network: string; asset: string }) => `${o.network}/${o.asset}`;

/** The offers a 402 lists, read defensively (a server that sends none gives an empty list). */
export function offersOf(error: PaymentRequiredError): PaymentOffer[] {
  const payment = error.problem.payment as { offers?: unknown } | undefined;
  if (!payment || !Array.isArray(payment.offers)) return [];
  return payment.offers.filter(
    (o): o is PaymentOffer =>
      !!o &&
      typeof o === 'object' &&
      typeof (o as PaymentOffer).network === 'string' &&
      typeof (o as PaymentOffer).asset === 'string' &&
      typeof (o as PaymentOffer).payTo === 'string' &&
      typeof (o as PaymentOffer).amount === 'string' &&
      DIGITS.test((o as PaymentOffer).amount),
  );
}

/**
 * The budget of one client: what it has paid per asset, and the offers it may still pay.
 * Amounts are BigInt throughout (token amounts pass 2^53).
 */
export class PaymentBudget {
  private readonly spent = new Map<string, bigint>();

  constructor(private readonly options: Pick<PaymentOptions, 'maxPerCall' | 'maxPerSession'>) {}

  /** Offers within both limits, given what was spent so far. */
  affordable(offers: PaymentOffer[]): PaymentOffer[] {
    return offers.filter((offer) => {
      const key = assetKey(offer);
      const perCall = this.options.maxPerCall[key];
      const perSession = this.options.maxPerSession[key];
      if (perCall === undefined || perSession === undefined) return false;
      if (!DIGITS.test(perCall) || !DIGITS.test(perSession)) return false;
      const amount = BigInt(offer.amount);
      return (
        amount <= BigInt(perCall) && (this.spent.get(key) ?? 0n) + amount <= BigInt(perSession)
      );
    });
  }

  /** Records a payment; throws if it is not one of `allowed` (the wallet paid something else). */
  charge(offer: PaymentOffer, allowed: PaymentOffer[]): void {
    const match = allowed.find(
      (o) =>
        assetKey(o) === assetKey(offer) && o.amount === offer.amount && o.payTo === offer.payTo,
    );
    if (!match) throw new Error('the wallet answered with an offer the budget does not allow');
    const key = assetKey(offer);
    this.spent.set(key, (this.spent.get(key) ?? 0n) + BigInt(offer.amount));
  }

  /** What was paid per `<network>/<asset>`, as decimal strings. */
  paid(): Record<string, string> {
    return Object.fromEntries([...this.spent].map(([k, v]) => [k, v.toString()]));
  }
}
