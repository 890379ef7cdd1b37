import { DOMAIN_KEY } from '@paygate/contracts';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * The most units a number of a route may name: 2^53 − 1. A larger JSON number arrives rounded
 * (…993 reads as …992), and the entitlement service refuses a cost past it on every request:
 * refused when the table loads instead. A literal, so the error names it.
 */
const MAX_UNITS = 9_007_199_254_740_991;

/**
 * A request's cost from the request itself: a header naming the units (`header`), or one unit
 * per started `perBodyBytes` of the body (Content-Length required). `cost` is the minimum and
 * the header's default; `max` caps what one request may reserve.
 */
export class CostRule {
  @IsOptional()
  @Matches(/^[a-z0-9-]{1,64}$/i)
  header?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_UNITS)
  perBodyBytes?: number;

  @IsInt()
  @Min(1)
  @Max(MAX_UNITS)
  max!: number;
}

/** A whole amount in an asset's smallest unit, as decimal digits (exact past 2^53). */
const AMOUNT = /^(0|[1-9][0-9]{0,38})$/;
/** The same, at least 1: a credit offered for nothing would mint credits for anyone. */
const POSITIVE_AMOUNT = /^[1-9][0-9]{0,38}$/;

/** CAIP-2 chain id: namespace ":" reference (e.g. eip155:8453, solana:5eykt4U…). */
export const CAIP2_NETWORK = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/;

/** The network of the built-in test method (offline vouchers); refused unless enabled. */
export const TEST_PAYMENT_NETWORK = 'paygate:test';

/**
 * One asset a route can be paid in directly: its 402s offer it as an x402 `accepts` entry and
 * a `WWW-Authenticate: Payment` challenge. An offer of N credits (what the refused request
 * lacks) costs amountPerCall + N × amountPerUnit of the asset: amountPerUnit is the price of
 * one credit.
 */
export class PayableAssetDefinition {
  @Matches(CAIP2_NETWORK, { message: 'network must be a CAIP-2 id like eip155:8453' })
  network!: string;

  /** The asset's id on its network (a token contract address, for example). */
  @IsString()
  @Length(1, 128)
  asset!: string;

  /** Who receives the payment on that network. */
  @IsString()
  @Length(1, 128)
  payTo!: string;

  @Matches(POSITIVE_AMOUNT, {
    message: 'amountPerUnit must be a whole number of the smallest unit, at least 1',
  })
  amountPerUnit!: string;

  @IsOptional()
  @Matches(AMOUNT, { message: 'amountPerCall must be a whole number of the smallest unit' })
  amountPerCall?: string;
}

/**
 * `upto` authorizations (x402 scheme `upto`, Payment intent `upto`): a payer authorizes at
 * most `units` credits' worth; the credits are spendable at once and until `holdSeconds` have
 * passed, then what was used is settled and the rest is never charged (docs/payments.md).
 */
export class RouteUpto {
  /** Credits one authorization holds (what the offer asks to authorize, at least the shortfall). */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  units!: number;

  /** How long the credits stay spendable before what was used is settled (default 60). */
  @IsOptional()
  @IsInt()
  @Min(5)
  @Max(3600)
  holdSeconds?: number;
}

/** What a route's requests cost when paid directly instead of from credits. */
export class RoutePrice {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(8)
  @ValidateNested({ each: true })
  @Type(() => PayableAssetDefinition)
  assets!: PayableAssetDefinition[];

  /**
   * Anonymous pay-per-call: a request without an API key may pay for itself. Without a
   * payment it gets a 402 `payment-required` with the offers for what the call costs under
   * this plan (its newest version); with one, the payer's account ("<network>:<address>")
   * becomes a customer subscribed to this plan on its first payment, and the request is
   * decided and metered for that customer like any other.
   */
  @IsOptional()
  @Matches(DOMAIN_KEY, { message: 'anonymousPlan must be a plan key' })
  anonymousPlan?: string;

  /** Also offer `upto` authorizations next to the exact charge (see RouteUpto). */
  @IsOptional()
  @ValidateNested()
  @Type(() => RouteUpto)
  upto?: RouteUpto;
}

/** A web origin as browsers send it: scheme, host and port, no path; lower case. */
const WEB_ORIGIN = /^https?:\/\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$/;

/**
 * Browsers' cross-origin calls (CORS), answered by the gateway for this route: a preflight
 * (`OPTIONS` with `Access-Control-Request-Method`) gets its permissions without an API key,
 * uncharged and not forwarded (a preflight never carries credentials), and every answer to an
 * allowed origin, problems included, lets the page read it and its headers (a 402's offers,
 * `X-Request-Id`, the rate limit). Without it, a preflight is a request like any other.
 */
export class RouteCors {
  /** Origins allowed (`https://app.example.com`), or `*` for any. */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @Matches(new RegExp(`${WEB_ORIGIN.source}|^\\*$`), {
    each: true,
    message: 'each origin must be "*" or scheme://host[:port] in lower case, with no path',
  })
  origins!: string[];

  /** Request headers a page may send besides those the gateway reads (see docs/api.md). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(/^[a-z0-9-]{1,64}$/i, { each: true })
  headers?: string[];

  /** How long a browser may keep a preflight's answer (default 600). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86_400)
  maxAgeSeconds?: number;
}

export class RouteDefinition {
  @Matches(DOMAIN_KEY)
  name!: string;

  /** Requests whose path starts with this prefix (on a segment boundary) use this route. */
  @Matches(/^\/[^?#]*$/)
  pathPrefix!: string;

  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  upstream!: string;

  /** Remove pathPrefix before forwarding (/api/x → upstream/x). */
  @IsOptional()
  @IsBoolean()
  stripPrefix?: boolean;

  /** Plan feature that admits the request. */
  @Matches(DOMAIN_KEY)
  feature!: string;

  /** Units one request costs (the minimum, when costFrom is set). */
  @IsInt()
  @Min(0)
  @Max(MAX_UNITS)
  cost!: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => CostRule)
  costFrom?: CostRule;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  scopes?: string[];

  /** Host names this route serves (Host header, port ignored); `*.example.com` for subdomains. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i, {
    each: true,
  })
  hosts?: string[];

  /**
   * When the entitlement service cannot answer: `closed` (default) answers 503
   * entitlement-unavailable; `open` keeps admitting keys it admitted lately, within a bounded
   * number of units that are charged once the service is back (docs/decisions-and-leases.md, failure policy).
   */
  @IsOptional()
  @IsIn(['closed', 'open'])
  failurePolicy?: 'closed' | 'open';

  /**
   * Meter (and charge) requests the upstream answered with a 5xx too. Off by default: a
   * failed upstream did not serve the customer. Connection errors and timeouts are never
   * metered (no answer reached the caller).
   */
  @IsOptional()
  @IsBoolean()
  meterUpstreamErrors?: boolean;

  /**
   * How its served requests reach metering: `aggregated` (default; folded per
   * USAGE_AGGREGATE_MS with exact counts) or `per-request` (one event each, carrying its
   * request id: for a meter that counts distinct request ids, or a consumer of every request).
   */
  @IsOptional()
  @IsIn(['aggregated', 'per-request'])
  usageEvents?: 'aggregated' | 'per-request';

  /**
   * Payable assets: a 402 that a payment can cure (insufficient credits) carries offers in
   * them (x402 v2 PAYMENT-REQUIRED and Payment-scheme challenges) besides its problem body.
   */
  @IsOptional()
  @ValidateNested()
  @Type(() => RoutePrice)
  price?: RoutePrice;

  @IsOptional()
  @ValidateNested()
  @Type(() => RouteCors)
  cors?: RouteCors;

  /** HTTP methods this route serves; all when absent. */
  @IsOptional()
  @IsArray()
  @IsIn(HTTP_METHODS, { each: true })
  methods?: string[];
}

export class RouteTable {
  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => RouteDefinition)
  routes!: RouteDefinition[];
}
