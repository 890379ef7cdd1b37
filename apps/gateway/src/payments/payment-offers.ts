import { withoutApiKeys } from '@paygate/observability';
import { Inject, Injectable } from '@nestjs/common';
import { buildPaymentChallenges, type PaymentRequirement } from '@paygate/payments';
import type { ProxyRequest } from '../proxy/proxy-request';
import { GatewayConfig } from '../config/gateway.config';
import type { RouteDefinition } from '../routes/route';

/**
 * Refusals a payment can cure: more credits admit the request, or (anonymous pay-per-call) a
 * payment is all the request needs. Others get no offers.
 */
const PAYABLE_CODES = new Set(['insufficient-credits', 'payment-required']);

/** What a payable 402 adds to its problem: the challenges' headers and the `payment` member. */
export interface PaymentOfferParts {
  headers: Record<string, string | string[]>;
  member: object;
}

/**
 * Offers on a priced route's payable 402s, in both conventions: one `WWW-Authenticate:
 * Payment` challenge per offered asset (draft-ryan-httpauth-payment; its id an HMAC over
 * realm, method, intent, request and expiry, so nothing is stored) and the x402 v2
 * `PAYMENT-REQUIRED` header; the problem body lists the same offers in its `payment` member.
 * The human path is unchanged: the body stays the RFC 9457 problem with its billing link.
 */
@Injectable()
export class PaymentOffers {
  constructor(@Inject(GatewayConfig) private readonly config: GatewayConfig) {}

  /**
   * The offers for a refusal, or undefined when the route has no price or no payment can
   * cure the refusal (revoked key, blocked customer, feature not in plan, ...). `shortfall`:
   * the credits the request lacks (what the offers sell).
   */
  forRefusal(
    route: RouteDefinition,
    request: ProxyRequest,
    code: string,
    shortfall: number,
    now = new Date(),
  ): PaymentOfferParts | undefined {
    const secret = this.config.PAYMENT_CHALLENGE_SECRET;
    if (!route.price || !secret || !PAYABLE_CODES.has(code)) return undefined;
    const units = Math.max(1, shortfall);
    const requirements = [this.requirementFor(route, request, units, now)];
    // An authorization holds at least what the request lacks.
    const upto = route.price.upto;
    if (upto) {
      requirements.push(
        this.requirementFor(route, request, Math.max(upto.units, units), now, 'upto'),
      );
    }
    const built = buildPaymentChallenges(requirements, {
      secret,
      realm: this.realm(request),
      now,
    });
    return {
      headers: {
        ...(built.wwwAuthenticate.length > 0 ? { 'www-authenticate': built.wwwAuthenticate } : {}),
        'payment-required': built.paymentRequired,
      },
      member: built.problemMember,
    };
  }

  /**
   * What `units` credits of the route cost, in each of its assets, for this request: the offers
   * of a 402 and what a payment for them is verified and settled against. `upto`: at most
   * that much, authorized now and settled for what is used (route.price.upto).
   */
  requirementFor(
    route: RouteDefinition,
    request: ProxyRequest,
    units: number,
    now: Date,
    intent: PaymentRequirement['intent'] = 'charge',
  ): PaymentRequirement {
    return {
      resource: this.resourceUrl(request),
      units,
      intent,
      assets: (route.price?.assets ?? []).map((a) => ({
        network: a.network,
        asset: a.asset,
        payTo: a.payTo,
        amountPerUnit: a.amountPerUnit,
        ...(a.amountPerCall ? { amountPerCall: a.amountPerCall } : {}),
      })),
      expiresAt: new Date(now.getTime() + this.config.PAYMENT_CHALLENGE_TTL_SECONDS * 1000),
    };
  }

  /** The protection space: PAYMENT_REALM, or the host the caller addressed. */
  realm(request: ProxyRequest): string {
    return this.config.PAYMENT_REALM ?? String(request.headers.host ?? 'paygate');
  }

  /**
   * The absolute URL the payment buys: the caller's view of it (host and path as sent). An API
   * key a caller put in it by mistake is cut to its prefix: the URL comes back in the payer's
   * credential, which is stored with the payment and sent to the facilitator.
   */
  resourceUrl(request: ProxyRequest): string {
    const host = String(request.headers.host ?? '127.0.0.1');
    return withoutApiKeys(`${request.protocol}://${host}${request.url}`);
  }
}
