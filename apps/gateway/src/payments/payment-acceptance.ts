import { Inject, Injectable, Logger } from '@nestjs/common';
import { counter } from '@paygate/observability';
import {
  type MalformedPayment,
  type ParsedPayment,
  type PaymentFacilitator,
  type PaymentRequirement,
  parsePaymentCredential,
  receiptHeaders,
  verifyChallengeId,
} from '@paygate/payments';
import type { ProblemInput } from '@paygate/problem-details';
import type { FastifyRequest } from 'fastify';
import { GatewayConfig } from '../config/gateway.config';
import { EntitlementClient } from '../decisions/entitlement.client';
import type { RouteDefinition } from '../routes/route';
import { UPTO_DEFAULT_HOLD_SECONDS } from '../routes/route-table';
import { PaymentOffers } from './payment-offers';
import { holdEnd, MIN_HOLD_MS, UptoAuthorizations } from './upto-authorizations';

/** Nest token of the facilitator the gateway verifies and settles with (gateway.module.ts). */
export const PAYMENT_FACILITATOR = Symbol('PAYMENT_FACILITATOR');

const payments = counter(
  'paygate_gateway_payments_total',
  'Payment credentials sent with requests, by outcome',
  ['outcome'],
);

/**
 * Credits an amount buys in an asset: (amount − amountPerCall) / amountPerUnit, rounded down;
 * an asset priced at 0 per unit sells what the request lacks.
 */
export function creditsPaid(
  amount: string,
  asset: { amountPerUnit: string; amountPerCall?: string },
  shortfall: number,
): bigint {
  const perUnit = BigInt(asset.amountPerUnit);
  const rest = BigInt(amount) - BigInt(asset.amountPerCall ?? '0');
  if (rest < 0n) return 0n;
  return perUnit === 0n ? BigInt(Math.max(1, shortfall)) : rest / perUnit;
}

/**
 * Whom a payment credits: a customer the API key identified, or (anonymous pay-per-call) the
 * payer itself, whose account becomes a customer subscribed to `plan` on its first payment.
 */
export type Payer =
  | { customerId: string }
  | {
      plan: string;
      /**
       * Asked once the payment verified (the payer is proven) and before it is settled: a
       * problem refuses it then, so no payment is taken for a request that would be refused.
       */
      beforeSettle?: (payment: ParsedPayment) => Promise<ProblemInput | undefined>;
    };

/** What became of a payment credential sent with a request. */
export type PaymentOutcome =
  /** No credential: the refusal stands (with offers). */
  | { kind: 'none' }
  /** A credential that was not accepted: answer with this problem (fresh offers included). */
  | { kind: 'refused'; problem: ProblemInput }
  /** Settled and credited once: ask again and serve; the receipt goes on the response. */
  | {
      kind: 'credited';
      credits: number;
      receipt: Record<string, string>;
      /** The customer credited (the payer's account for anonymous pay-per-call). */
      customerId: string;
      /** What busy() and idle() know this payer's payments by. */
      payerKey: string;
      /** A new `upto` authorization: when its hold ends (ms since the epoch). */
      holdUntil?: number;
    };

/** The most credits one payment buys: far inside the ledger's bound, checked before settling. */
export const MAX_CREDITS_PER_PAYMENT = 1_000_000_000;

/**
 * Pay and retry (docs/payments.md): a request refused for insufficient credits that carries a
 * payment credential (x402 `PAYMENT-SIGNATURE` or `Authorization: Payment`) has it checked
 * (challenge id, then the facilitator's verify against what the request lacks now), settled,
 * and credited to the customer once per payment by the entitlement service, before the
 * request is decided again. Order matters for the money: nothing is settled unless the
 * request needs it and the payment is valid; a settlement is credited at most once (the
 * entitlement service keys it by payment id, and settling is idempotent per payment id), so a
 * retry with the same credential after a failure in between is safe.
 */
@Injectable()
export class PaymentAcceptance {
  private readonly logger = new Logger(PaymentAcceptance.name);
  /** Payments being completed per customer, and who waits for them to end. */
  private readonly inFlight = new Map<string, { count: number; waiters: (() => void)[] }>();

  constructor(
    @Inject(GatewayConfig) private readonly config: GatewayConfig,
    @Inject(PAYMENT_FACILITATOR) private readonly facilitator: PaymentFacilitator,
    private readonly entitlement: EntitlementClient,
    private readonly offers: PaymentOffers,
    private readonly authorizations: UptoAuthorizations,
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
   * (`amountPerCall + N × amountPerUnit` of its asset); `shortfall` only sizes the fresh offers
   * of a refusal.
   */
  async accept(
    route: RouteDefinition,
    request: FastifyRequest,
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
    request: FastifyRequest,
    payer: Payer,
    shortfall: number,
    now: Date,
    secret: string,
    parsed: ParsedPayment | MalformedPayment,
  ): Promise<PaymentOutcome> {
    const assets = route.price?.assets ?? [];
    const refuse = (code: ProblemInput['code'], reason: string): PaymentOutcome => {
      payments.inc({ outcome: reason });
      const offers = this.offers.forRefusal(route, request, 'insufficient-credits', shortfall, now);
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

    let verdict;
    try {
      verdict = await this.facilitator.verify(parsed, requirement);
    } catch (err) {
      return this.unavailable(parsed, 'verify', err);
    }
    if (!verdict.valid) {
      if (verdict.reason === 'underpaid') return refuse('payment-underpaid', 'underpaid');
      if (verdict.reason === 'expired') return refuse('payment-expired', 'expired');
      return refuse('payment-invalid', verdict.reason);
    }

    if ('plan' in payer && payer.beforeSettle) {
      let refusal: ProblemInput | undefined;
      try {
        refusal = await payer.beforeSettle(parsed);
      } catch (err) {
        return this.unavailable(parsed, 'account check', err);
      }
      if (refusal) {
        payments.inc({ outcome: 'refused-before-settling' });
        return { kind: 'refused', problem: refusal };
      }
    }

    if (parsed.intent === 'upto') {
      // Settled later, for what is used (UptoSettlements): it must still be valid by then.
      if (holdUntil - now.getTime() < MIN_HOLD_MS)
        return refuse('payment-expired', 'expires-too-soon');
      const replayed = () => refuse('payment-replayed', 'replayed');
      return this.authorize(request, payer, parsed, units, asset, requirement, holdUntil, replayed);
    }

    let settled;
    try {
      settled = await this.facilitator.settle(parsed, requirement);
    } catch (err) {
      return this.unavailable(parsed, 'settle', err);
    }
    if (!settled.settled) {
      // A timeout may have settled after all: the same credential, sent again, settles to the
      // same result and is credited once.
      if (/timeout|unavailable/.test(settled.reason))
        return this.unavailable(parsed, 'settle', new Error(settled.reason));
      return refuse('payment-invalid', settled.reason);
    }

    let recorded;
    try {
      recorded = await this.entitlement.recordPayment({
        ...('customerId' in payer
          ? { customerId: payer.customerId }
          : { customerId: '', payerPlan: payer.plan }),
        paymentId: parsed.paymentId,
        credits: units,
        network: parsed.network,
        asset: parsed.asset,
        amount: parsed.amount,
        payer: parsed.payer,
        transaction: settled.transaction,
        requestId: String(request.id),
      });
    } catch (err) {
      return this.unavailable(parsed, 'record', err);
    }
    if (recorded.replayed) return refuse('payment-replayed', 'replayed');
    payments.inc({ outcome: 'credited' });
    const customerId = recorded.customerId || ('customerId' in payer ? payer.customerId : '');
    this.logger.log(
      {
        requestId: request.id,
        customerId,
        network: parsed.network,
        amount: parsed.amount,
        credits: units,
        transaction: settled.transaction,
      },
      'payment credited',
    );
    return {
      kind: 'credited',
      credits: units,
      receipt: receiptHeaders(parsed, { transaction: settled.transaction, settledAt: now }),
      customerId,
      payerKey: payerKeyOf(payer, parsed),
    };
  }

  /**
   * An `upto` payment, verified: recorded as an authorization whose credits are spendable now
   * and until `holdUntil`; nothing is settled here. A replay of an authorization still within
   * its hold decides the request on what is left of it (the payer sends the same credential
   * again for each request of the hold); any other replay is refused like a spent payment.
   */
  private async authorize(
    request: FastifyRequest,
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

  /** The facilitator or the ledger could not answer: 503, and the same payment may be retried. */
  private unavailable(payment: ParsedPayment, step: string, err: unknown): PaymentOutcome {
    payments.inc({ outcome: 'unavailable' });
    this.logger.warn(
      { err: (err as Error).message, step, network: payment.network },
      'payment could not be completed',
    );
    return {
      kind: 'refused',
      problem: { code: 'payment-unavailable', headers: { 'retry-after': '1' } },
    };
  }
}

/** A keyed customer's payments go by the customer; an anonymous payer's by its account. */
function payerKeyOf(payer: Payer, payment: ParsedPayment | MalformedPayment): string {
  if ('customerId' in payer) return payer.customerId;
  return 'error' in payment ? 'anonymous' : `payer:${payment.network}:${payment.payer}`;
}
