import { Injectable } from '@nestjs/common';
import { type CheckResponse, payerAccountOf } from '@paygate/contracts';
import type { ParsedPayment } from '@paygate/payments';
import type { ProblemInput } from '@paygate/problem-details';
import type { ServerResponse } from 'node:http';
import type { ProxyRequest } from '../proxy/proxy-request';
import { denialProblem, shortfallOf } from '../decisions/denial-problem';
import { EntitlementClient, EntitlementUnavailableError } from '../decisions/entitlement.client';
import type { AdmissionRequest } from '../leases/admission-request';
import { LeasesService } from '../leases/leases.service';
import { rateLimited } from '../rate-limits/rate-limited.problem';
import { RateLimitsService } from '../rate-limits/rate-limits.service';
import type { RouteDefinition } from '../routes/route';
import { PaymentAcceptance } from './payment-acceptance';
import { PaymentOffers } from './payment-offers';

/** A quote (what an anonymous call costs) is asked again after this long. */
const QUOTE_TTL_MS = 10_000;
/** Distinct (plan, feature, cost) quotes kept; the cache starts over past it. */
const MAX_QUOTES = 10_000;

/**
 * This long before an `upto` hold ends, this gateway gives back the customer's leases: units
 * it holds unused then go back to the authorization and expire with it, uncharged.
 */
const HOLD_RETURN_MS = 1500;

/** Where a request stands once any payment it carried was taken. */
export type PaidAdmission =
  /** Decide with this (allowed, or refused with offers where a payment can cure it). */
  | { kind: 'decided'; decision: CheckResponse }
  /** Answer with this problem. */
  | { kind: 'refused'; problem: ProblemInput; customerId?: string };

const unavailable: ProblemInput = {
  code: 'entitlement-unavailable',
  headers: { 'retry-after': '1' },
};

/**
 * Pay and retry on a priced route (docs/payments.md): a payment credential sent with a request
 * is taken (PaymentAcceptance) and the request decided again, for a customer the API key
 * identified or, on a route with `price.anonymousPlan`, for the payer itself.
 */
@Injectable()
export class PayAndRetry {
  private readonly quotes = new Map<string, { decision: Promise<CheckResponse>; at: number }>();

  constructor(
    private readonly leases: LeasesService,
    private readonly payments: PaymentAcceptance,
    private readonly offers: PaymentOffers,
    private readonly entitlement: EntitlementClient,
    private readonly rateLimits: RateLimitsService,
  ) {}

  /** Whether a request without an API key may pay for itself on this route. */
  allowsAnonymous(route: RouteDefinition): boolean {
    return route.price?.anonymousPlan !== undefined;
  }

  /**
   * Whether `keyed` has anything to do: the route sells calls and the decision is for a known
   * customer, allowed or refused for credits. Checked first, so routes without a price pay
   * nothing for it per request.
   */
  applies(route: RouteDefinition, decision: CheckResponse): boolean {
    if (!route.price || !decision.customerId) return false;
    return decision.allowed || decision.denial?.code === 'insufficient-credits';
  }

  /**
   * A keyed request's decision, after the payment it carries (if any) was taken: a refusal
   * for credits is decided again once the payment was credited. An admitted request pays too:
   * every request that carries a payment adds its credits, so requests of one customer never
   * live on each other's payments.
   */
  async keyed(
    route: RouteDefinition,
    request: ProxyRequest,
    res: ServerResponse,
    ask: AdmissionRequest,
    decision: CheckResponse,
  ): Promise<PaidAdmission> {
    if (!this.applies(route, decision)) return { kind: 'decided', decision };
    const paid = await this.payments.accept(
      route,
      request,
      { customerId: decision.customerId },
      decision.allowed ? ask.cost : shortfallOf(decision),
    );
    if (paid.kind === 'none') return { kind: 'decided', decision };
    if (paid.kind === 'refused') {
      if (decision.allowed && decision.leaseId)
        this.leases.giveBack(decision, ask.cost, 'payment refused');
      return { kind: 'refused', problem: paid.problem, customerId: decision.customerId };
    }
    // The receipt goes on whatever answers: the credits are the customer's either way.
    for (const [name, value] of Object.entries(paid.receipt)) res.setHeader(name, value);
    this.returnLeasesAtHoldEnd(paid.customerId, paid.holdUntil);
    if (decision.allowed) return { kind: 'decided', decision };
    try {
      return { kind: 'decided', decision: await this.admitAfterPayment(ask, paid.payerKey) };
    } catch (err) {
      if (!(err instanceof EntitlementUnavailableError)) throw err;
      return { kind: 'refused', problem: unavailable, customerId: decision.customerId };
    }
  }

  /**
   * A request without an API key on a route that allows anonymous calls: without a payment, a
   * 402 `payment-required` with offers for what the call costs under the route's plan; with
   * one, the payment is taken for the payer's account (a customer from its first payment on)
   * and the request decided for it. Only a request whose own payment was settled and credited
   * is ever decided: the payer in a credential proves nothing until the facilitator verified
   * it, so a later request naming the same payer cannot live on its balance without paying.
   */
  async anonymous(
    route: RouteDefinition,
    request: ProxyRequest,
    res: ServerResponse,
    cost: number,
  ): Promise<PaidAdmission & { keyId?: string }> {
    const plan = route.price?.anonymousPlan;
    if (!plan) throw new Error(`route ${route.name} does not allow anonymous calls`);
    let quote: CheckResponse;
    try {
      quote = await this.quote(plan, route.feature, cost, String(request.id));
    } catch (err) {
      if (!(err instanceof EntitlementUnavailableError)) throw err;
      return { kind: 'refused', problem: unavailable };
    }
    // The plan lacks the feature (or does not exist): an operator's mistake, said as it is.
    if (quote.denial?.code !== 'payment-required')
      return { kind: 'refused', problem: denialProblem(quote) };
    const price = Math.max(1, shortfallOf(quote));
    // Once the payer is proven, its own account (if it has one) decides before anything is
    // settled: a blocked payer, or one whose plan version lacks the feature, pays nothing.
    const beforeSettle = async (
      payment: ParsedPayment,
    ): Promise<{ refusal: ProblemInput } | { callCredits: number }> => {
      const own = await this.entitlement.check({
        apiKey: '',
        payerPlan: plan,
        payerAccount: payerAccountOf(payment.network, payment.payer),
        feature: route.feature,
        cost,
        requestId: String(request.id),
        requiredScopes: [],
      });
      if (own.denial?.code !== 'payment-required') return { refusal: denialProblem(own) };
      // A payer over its plan's rate limit would pay and then be refused: refused first.
      const limited = own.customerId
        ? this.rateLimits.beforeDecision(payerKeyId(own.customerId), route.feature, Date.now())
        : undefined;
      if (limited) return { refusal: rateLimited(route.feature, limited) };
      // What the call costs this payer, under its own plan version (the quote is the plan's
      // newest, kept 10 s): what its payment may buy at most.
      return { callCredits: Math.max(1, shortfallOf(own)) };
    };
    const paid = await this.payments.accept(route, request, { plan, beforeSettle }, price);
    if (paid.kind === 'refused') return { kind: 'refused', problem: paid.problem };
    if (paid.kind === 'none') {
      const problem = this.withOffers(route, request, denialProblem(quote), quote);
      // Callers with an API key may send it instead: both schemes are named.
      const challenges = [problem.headers?.['www-authenticate'] ?? []].flat();
      return {
        kind: 'refused',
        problem: {
          ...problem,
          headers: {
            ...problem.headers,
            'www-authenticate': [...challenges, 'Bearer realm="paygate"'],
          },
        },
      };
    }
    for (const [name, value] of Object.entries(paid.receipt)) res.setHeader(name, value);
    this.returnLeasesAtHoldEnd(paid.customerId, paid.holdUntil);
    const keyId = payerKeyId(paid.customerId);
    const ask: AdmissionRequest = {
      apiKey: '',
      keyId,
      customerId: paid.customerId,
      feature: route.feature,
      cost,
      requestId: String(request.id),
      requiredScopes: [],
    };
    try {
      const decision = await this.admitAfterPayment(ask, paid.payerKey);
      return decision.allowed
        ? { kind: 'decided', decision, keyId }
        : {
            kind: 'refused',
            problem: this.withOffers(route, request, denialProblem(decision), decision),
            customerId: paid.customerId,
          };
    } catch (err) {
      if (!(err instanceof EntitlementUnavailableError)) throw err;
      return { kind: 'refused', problem: unavailable, customerId: paid.customerId };
    }
  }

  /**
   * An `upto` authorization is settled for the credits drawn from it when its hold ends; a
   * unit this gateway holds in a lease then counts as drawn (it comes back to the customer as
   * credits, paid for). So the leases go back a moment before: what was not used stays
   * uncharged. Other replicas return theirs when idle (LEASE_IDLE_MS) or old (LEASE_MAX_AGE_MS).
   */
  private returnLeasesAtHoldEnd(customerId: string, holdUntil: number | undefined): void {
    if (holdUntil === undefined) return;
    const timer = setTimeout(
      () => void this.leases.forgetCustomer(customerId, 'upto hold ends'),
      Math.max(0, holdUntil - HOLD_RETURN_MS - Date.now()),
    );
    timer.unref();
  }

  /** A payable refusal on a priced route gains the payment offers (PaymentOffers). */
  withOffers(
    route: RouteDefinition,
    request: ProxyRequest,
    problem: ProblemInput,
    decision: CheckResponse,
  ): ProblemInput {
    const offers = this.offers.forRefusal(
      route,
      request,
      problem.code,
      Math.max(1, shortfallOf(decision)),
    );
    if (!offers) return problem;
    return {
      ...problem,
      headers: { ...problem.headers, ...offers.headers },
      extensions: { ...problem.extensions, payment: offers.member },
    };
  }

  /**
   * Decides a request again once its payment was credited. Other requests of the payer may
   * have been admitted a moment before paying for themselves (their credits land right after):
   * while their payments are being completed here, a refusal for credits waits for them and
   * asks again, so a paid request is not refused for credits another one is about to replace.
   */
  private async admitAfterPayment(ask: AdmissionRequest, payerKey: string): Promise<CheckResponse> {
    for (let attempt = 0; ; attempt++) {
      const decision = await this.leases.admit({ ...ask, paid: true });
      if (
        decision.allowed ||
        decision.denial?.code !== 'insufficient-credits' ||
        attempt >= 10 ||
        // Asked once more in any case: the lease pool may have answered with a renewal it
        // had asked for before this payment's credits landed.
        (attempt >= 1 && !this.payments.busy(payerKey))
      )
        return decision;
      await this.payments.idle(payerKey);
    }
  }

  /**
   * What a call costs under the plan, cached briefly and shared while asked: a flood of unpaid
   * calls asks once per plan, feature and cost every QUOTE_TTL_MS.
   */
  private async quote(
    plan: string,
    feature: string,
    cost: number,
    requestId: string,
  ): Promise<CheckResponse> {
    const key = `${plan}\0${feature}\0${cost}`;
    const now = Date.now();
    const cached = this.quotes.get(key);
    if (cached && now - cached.at < QUOTE_TTL_MS) return cached.decision;
    const decision = this.entitlement.check({
      apiKey: '',
      payerPlan: plan,
      feature,
      cost,
      requestId,
      requiredScopes: [],
    });
    if (this.quotes.size >= MAX_QUOTES) this.quotes.clear();
    this.quotes.set(key, { decision, at: now });
    // A failed answer is not kept: the next call asks again.
    decision.catch(() => {
      if (this.quotes.get(key)?.decision === decision) this.quotes.delete(key);
    });
    return decision;
  }
}

/**
 * What stands for an API key's id for an anonymous payer's account (lease books, rate-limit
 * policies): one id per customer, never a real key's (those are hashes).
 */
function payerKeyId(customerId: string): string {
  return `payer:${customerId}`;
}
