import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type MalformedPayment,
  type ParsedPayment,
  type PaymentFacilitator,
  type PaymentRequirement,
  parsePaymentCredential,
  verifyChallengeId,
} from '@paygate/payments';
import type { ProblemInput } from '@paygate/problem-details';
import type { ProxyRequest } from '../proxy/proxy-request';
import { GatewayConfig } from '../config/gateway.config';

import type { RouteDefinition } from '../routes/route';
import { UPTO_DEFAULT_HOLD_SECONDS } from '../routes/route-table';
import { PaymentOffers } from './payment-offers';
import {
  creditsPaid,
  paysWholeCredits,
  MAX_CREDITS_PER_PAYMENT,
  type Payer,
  payerKeyOf,
  type PaymentOutcome,
  samePayer,
} from './payment-outcome';
import { ChargeSettlement } from './charge-settlement';
import { PAYMENT_FACILITATOR } from './payment-facilitator';
import { UncreditedPayments } from './uncredited-payments';
import { paymentUnavailable, payments } from './payment-metrics';
import { holdEnd, MIN_HOLD_MS, UptoAuthorizations } from './upto-authorizations';

export { PAYMENT_FACILITATOR } from './payment-facilitator';

/**
 * Pay and retry (docs/payments.md): a request refused for insufficient credits that carries a
 * payment credential (x402 `PAYMENT-SIGNATURE` or `Authorization: Payment`) has it checked
 * (challenge id, then the facilitator's verify against what the request lacks now), settled,
 * and credited to the customer once per payment by the entitlement service, before the
 * request is decided again. Order matters for the money: nothing is settled unless the
 * request needs it and the payment is valid; a settlement is credited at most once (the
 * entitlement service keys it by payment id). A settlement the service could not credit is
 * never settled again (a facilitator may refuse the repeat): UncreditedPayments retries the
 * credit, and the same credential sent again is credited without a second settlement.
 */
@Injectable()
export class PaymentAcceptance {
  private readonly logger = new Logger(PaymentAcceptance.name);
  /** Payments being completed per customer, and who waits for them to end. */
  private readonly inFlight = new Map<string, { count: number; waiters: (() => void)[] }>();

  constructor(
    @Inject(GatewayConfig) private readonly config: GatewayConfig,
    @Inject(PAYMENT_FACILITATOR) private readonly facilitator: PaymentFacilitator,
    private readonly offers: PaymentOffers,
    private readonly authorizations: UptoAuthorizations,
    private readonly uncredited: UncreditedPayments,
    private readonly charges: ChargeSettlement,
  ) {}

  /** Whether a payment of this payer (see `payerKey`) is being completed on this gateway. */
  busy(payerKey: string): boolean {
    return (this.inFlight.get(payerKey)?.count ?? 0) > 0;
  }

  /** Resolves once no payment of the payer is being completed here (or after `maxMs`). */
  idle(payerKey: string, maxMs = 5000): Promise<void> {
    const entry = this.inFlight.get(payerKey);
    if (!entry || entry.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxMs);
      entry.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Takes the payment credential a request carries, if any: checked, settled and credited
   * before the request is (again) decided. It buys as many credits as it pays for
   * (`amountPerCall + N × amountPerUnit` of its asset, exactly); `shortfall` sizes the fresh
   * offers of a refusal, and for a payer without a key (`plan`) is what its payment may buy.
   */
  async accept(
    route: RouteDefinition,
    request: ProxyRequest,
    payer: Payer,
    shortfall: number,
    now = new Date(),
  ): Promise<PaymentOutcome> {
    const secret = this.config.PAYMENT_CHALLENGE_SECRET;
    if (!route.price || !secret) return { kind: 'none' };
    const parsed = parsePaymentCredential(request.headers);
    if (parsed === undefined) return { kind: 'none' };
    const key = payerKeyOf(payer, parsed);
    const entry = this.inFlight.get(key) ?? { count: 0, waiters: [] };
    this.inFlight.set(key, entry);
    entry.count++;
    try {
      return await this.complete(route, request, payer, shortfall, now, secret, parsed);
    } finally {
      if (--entry.count === 0) {
        this.inFlight.delete(key);
        for (const wake of entry.waiters.splice(0)) wake();
      }
    }
  }

  private async complete(
    route: RouteDefinition,
    request: ProxyRequest,
    payer: Payer,
    shortfall: number,
    now: Date,
    secret: string,
    parsed: ParsedPayment | MalformedPayment,
  ): Promise<PaymentOutcome> {
    const assets = route.price?.assets ?? [];
    const refuse = (
      code: ProblemInput['code'],
      reason: string,
      offered = shortfall,
    ): PaymentOutcome => {
      payments.inc({ outcome: reason });
      const offers = this.offers.forRefusal(route, request, 'insufficient-credits', offered, now);
      return {
        kind: 'refused',
        problem: {
          code,
          headers: { ...offers?.headers },
          extensions: { reason, ...(offers ? { payment: offers.member } : {}) },
        },
      };
    };
    if ('error' in parsed) return refuse('payment-invalid', 'malformed');
    if (parsed.protocol === 'payment-auth') {
      const check = verifyChallengeId(parsed, {
        secret,
        realm: this.offers.realm(request),
        now,
      });
      if (!check.valid) {
        return check.reason === 'expired'
          ? refuse('payment-expired', 'expired')
          : refuse('payment-invalid', check.reason);
      }
    }
    if (!assets.some((a) => a.network === parsed.network))
      return refuse('payment-invalid', 'wrong-network');
    const asset = assets.find((a) => a.network === parsed.network && a.asset === parsed.asset);
    if (!asset) return refuse('payment-invalid', 'wrong-asset');
    const bought = creditsPaid(parsed.amount, asset, shortfall);
    if (bought < 1n) return refuse('payment-underpaid', 'underpaid');
    // Checked before anything settles: a payment the ledger could not take is never taken.
    if (bought > BigInt(MAX_CREDITS_PER_PAYMENT)) return refuse('payment-invalid', 'too-large');
    const units = Number(bought);
    const upto = route.price?.upto;
    if (parsed.intent === 'upto' && !upto) return refuse('payment-invalid', 'wrong-scheme');
    const requirement = this.offers.requirementFor(route, request, units, now, parsed.intent);
    const holdUntil = upto
      ? holdEnd(parsed, upto.holdSeconds ?? UPTO_DEFAULT_HOLD_SECONDS, now)
      : 0;

    // The same credential again after it was settled but not credited: credit it, never settle
    // it twice. Only for the same payer (the customer the key named, or the same payer plan).
    const earlier =
      parsed.intent === 'charge'
        ? this.uncredited.find(parsed.paymentId, parsed.credential)
        : undefined;
    if (earlier && samePayer(payer, earlier.record)) {
      return this.charges.creditSettled(request, payer, parsed, earlier, now);
    }
    // (After that: a credential already settled is credited whatever rules came since.)
    if (parsed.intent !== 'upto' && !paysWholeCredits(parsed.amount, asset))
      return refuse('payment-invalid', 'inexact-amount');

    let verdict;
    try {
      verdict = await this.facilitator.verify(parsed, requirement);
    } catch (err) {
      return this.unavailable(parsed, 'verify', err);
    }
    if (!verdict.valid) {
      // The facilitator did not answer (an HTTP facilitator's verdict then says so): nothing is
      // known of the payment, so the payer is told to send it again, not that it is invalid.
      if (/^facilitator-(unavailable|timeout)$/.test(verdict.reason))
        return this.unavailable(parsed, 'verify', new Error(verdict.reason));
      if (verdict.reason === 'underpaid') return refuse('payment-underpaid', 'underpaid');
      if (verdict.reason === 'expired') return refuse('payment-expired', 'expired');
      return refuse('payment-invalid', verdict.reason);
    }

    if ('plan' in payer) {
      let callCredits = Math.max(1, shortfall);
      if (payer.beforeSettle) {
        let own;
        try {
          own = await payer.beforeSettle(parsed);
        } catch (err) {
          return this.unavailable(parsed, 'account check', err);
        }
        if ('refusal' in own) {
          payments.inc({ outcome: 'refused-before-settling' });
          return { kind: 'refused', problem: own.refusal };
        }
        callCredits = own.callCredits;
      }
      // A payer without a key spends its balance only by paying each call (PayAndRetry's
      // anonymous): credits it bought beyond the call would be taken and never spent.
      if (parsed.intent !== 'upto' && bought > BigInt(callCredits))
        return refuse('payment-invalid', 'more-than-the-call', callCredits);
    }

    if (parsed.intent === 'upto') {
      // Settled later, for what is used (UptoSettlements): it must still be valid by then.
      if (holdUntil - now.getTime() < MIN_HOLD_MS)
        return refuse('payment-expired', 'expires-too-soon');
      const replayed = () => refuse('payment-replayed', 'replayed');
      return this.authorize(request, payer, parsed, units, asset, requirement, holdUntil, replayed);
    }

    return this.charges.settle(request, payer, parsed, units, requirement, now, refuse);
  }

  /**
   * An `upto` payment, verified: recorded as an authorization whose credits are spendable now
   * and until `holdUntil`; nothing is settled here. A replay of an authorization still within
   * its hold decides the request on what is left of it (the payer sends the same credential
   * again for each request of the hold); any other replay is refused like a spent payment.
   */
  private async authorize(
    request: ProxyRequest,
    payer: Payer,
    parsed: ParsedPayment,
    units: number,
    asset: { amountPerUnit: string; amountPerCall?: string },
    requirement: PaymentRequirement,
    holdUntil: number,
    replayed: () => PaymentOutcome,
  ): Promise<PaymentOutcome> {
    let outcome;
    try {
      outcome = await this.authorizations.open(
        String(request.id),
        'customerId' in payer ? { customerId: payer.customerId } : { payerPlan: payer.plan },
        parsed,
        units,
        asset,
        requirement,
        holdUntil,
      );
    } catch (err) {
      return this.unavailable(parsed, 'record', err);
    }
    if (outcome.kind === 'replayed') return replayed();
    payments.inc({ outcome: outcome.kind === 'opened' ? 'authorized' : 'authorization-reused' });
    return {
      kind: 'credited',
      credits: outcome.kind === 'opened' ? units : 0,
      // Nothing settled yet: the settlement is made when the hold ends (UptoSettlements).
      receipt: {},
      customerId: outcome.customerId,
      payerKey: payerKeyOf(payer, parsed),
      ...(outcome.kind === 'opened' ? { holdUntil: outcome.holdUntil } : {}),
    };
  }

  private unavailable(payment: ParsedPayment, step: string, err: unknown): PaymentOutcome {
    return paymentUnavailable(this.logger, payment, step, err);
  }
}
