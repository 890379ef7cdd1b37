import {
  DatabaseServiceConfig,
  GRPC_TOKEN_MIN_LENGTH,
  GrpcTokenCharacters,
  type GrpcServerTlsSettings,
  NeedsVariables,
  OperatorPortApart,
  csv,
  decimalInteger,
} from '@paygate/config';
import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  Min,
  MinLength,
  Validate,
  ValidateIf,
  type ValidationArguments,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';

/** The webhook secret of local demos (npm start, compose; npm run stripe:event signs with it). */
export const DEV_STRIPE_WEBHOOK_SECRET = 'whsec_paygate_dev_only';

/** The public development secret where real money moves: with Stripe payments. */
@ValidatorConstraint({ name: 'devSecretOnlyInDemos' })
class DevSecretOnlyInDemos implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const config = args.object as { BILLING_PAYMENT_PROVIDER?: string };
    return !(config.BILLING_PAYMENT_PROVIDER === 'stripe' && value === DEV_STRIPE_WEBHOOK_SECRET);
  }

  defaultMessage(): string {
    return "STRIPE_WEBHOOK_SECRET is the public development secret: set your endpoint's whsec_… with BILLING_PAYMENT_PROVIDER=stripe";
  }
}

/** "price_1=pro,price_2=team" → { price_1: 'pro', price_2: 'team' }; an object stays as is. */
function priceMap(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const entries = csv(value).map((entry) => entry.split('=').map((p) => p.trim()));
  // A malformed entry leaves the string, which then fails validation naming the variable.
  if (entries.some((e) => e.length !== 2 || !e[0] || !e[1])) return value;
  return Object.fromEntries(entries);
}

// Explicit property types: decorator metadata needs them to convert env strings.
export class EntitlementConfig extends DatabaseServiceConfig {
  @IsInt()
  @Min(1)
  @Max(65535)
  HTTP_PORT: number = 3001;

  /**
   * A listener of its own for the operator API (`/v1/…` but `/v1/webhooks/…`, and `/docs`):
   * set, HTTP_PORT answers those paths 404 and serves only what customers and payment
   * providers reach (the billing page, webhooks, /health, /ready), so it can be published
   * without the API that changes plans, credits and keys. Unset: both on HTTP_PORT.
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  @Validate(OperatorPortApart)
  OPERATOR_HTTP_PORT?: number;

  /** Where OPERATOR_HTTP_PORT binds: 127.0.0.1 unless set (a private network's address). */
  @IsString()
  OPERATOR_HTTP_HOST: string = '127.0.0.1';

  /** host:port the gRPC decision service listens on. */
  @IsString()
  GRPC_URL: string = '127.0.0.1:50051';

  /**
   * Tokens the gRPC port takes, comma-separated, each at least 32 visible ASCII characters (no
   * comma): set, every call must carry metadata `authorization: Bearer <token>` with one of them
   * (compared in constant time), else it is refused UNAUTHENTICATED and nothing runs, since
   * the port credits payments (RecordPayment) and grants leases. Gateways send theirs as
   * ENTITLEMENT_GRPC_TOKEN. Several at once let a token rotate: add the new one here, move every
   * gateway to it, then remove the old one. Unset: every call is taken. Without TLS
   * (GRPC_TLS_CERT_FILE) whoever can watch the network reads the token, and the callers' API
   * keys in every Check. The service logs a warning at start when GRPC_URL's host is not a
   * loopback address and the port speaks plaintext, or takes every caller (no tokens and no
   * GRPC_TLS_CLIENT_CA_FILE).
   */
  @Transform(({ value }) => csv(value))
  @IsString({ each: true })
  @MinLength(GRPC_TOKEN_MIN_LENGTH, { each: true })
  @Validate(GrpcTokenCharacters, { each: true })
  GRPC_TOKENS: string[] = [];

  /**
   * PEM certificate (chain: the server's first, then any intermediates) of the gRPC port, set
   * with GRPC_TLS_KEY_FILE: the port then speaks TLS only, and a plaintext client (or one that
   * does not trust the certificate) gets no connection, so every gateway needs
   * ENTITLEMENT_GRPC_TLS or ENTITLEMENT_GRPC_CA_FILE. Its names (subject alternative names) must
   * include the host the gateways connect to. Read at start, where a missing, unreadable or
   * non-PEM file stops the service, naming the variable; renewed later without a restart
   * (GRPC_TLS_RELOAD_MS).
   */
  @ValidateIf((c: EntitlementConfig) => c.GRPC_TLS_KEY_FILE !== undefined)
  @IsString({ message: 'required with GRPC_TLS_KEY_FILE (the certificate of that key)' })
  GRPC_TLS_CERT_FILE?: string;

  /** PEM private key (unencrypted) of GRPC_TLS_CERT_FILE; both are set, or neither. */
  @ValidateIf((c: EntitlementConfig) => c.GRPC_TLS_CERT_FILE !== undefined)
  @IsString({ message: 'required with GRPC_TLS_CERT_FILE (its private key)' })
  GRPC_TLS_KEY_FILE?: string;

  /**
   * PEM bundle of the CA(s) whose client certificates the gRPC port takes (mutual TLS; needs
   * GRPC_TLS_CERT_FILE): a client without a certificate one of them signed is refused in the
   * handshake, before any call, so only holders of such a certificate (the gateways'
   * ENTITLEMENT_GRPC_CERT_FILE) reach the port at all. GRPC_TOKENS still apply on top.
   */
  @IsOptional()
  @IsString()
  @Validate(NeedsVariables, ['GRPC_TLS_CERT_FILE'])
  GRPC_TLS_CLIENT_CA_FILE?: string;

  /**
   * How often (ms) the GRPC_TLS_* files are looked at for a renewal, taken without a restart
   * once it has settled and passes the checks made at start (otherwise refused, logged as an
   * error and counted in paygate_tls_reloads_total, the files read before staying in use);
   * new connections get it, connections up already keep theirs. 0: read at start only; at
   * most a day.
   */
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  GRPC_TLS_RELOAD_MS: number = 60_000;

  /** The gRPC port's TLS files (GRPC_TLS_*), for grpcServerCredentials. */
  get grpcTls(): GrpcServerTlsSettings {
    return {
      cert: { variable: 'GRPC_TLS_CERT_FILE', path: this.GRPC_TLS_CERT_FILE },
      key: { variable: 'GRPC_TLS_KEY_FILE', path: this.GRPC_TLS_KEY_FILE },
      clientCa: { variable: 'GRPC_TLS_CLIENT_CA_FILE', path: this.GRPC_TLS_CLIENT_CA_FILE },
    };
  }

  /**
   * Where a refusal's `link` sends the customer: {token} becomes a signed, expiring token
   * (the built-in billing page at /billing/{token} reads it; a portal of your own can verify
   * it the same way). {customerId} is replaced too, for portals that log the customer in.
   */
  @IsString()
  BILLING_PORTAL_URL_TEMPLATE: string = 'http://127.0.0.1:3001/billing/{token}';

  /** Signs billing links; unset: a key derived from ADMIN_TOKEN. */
  @IsOptional()
  @IsString()
  @MinLength(16)
  BILLING_LINK_SECRET?: string;

  @IsInt()
  @Min(60)
  BILLING_LINK_TTL_SECONDS: number = 86_400;

  /**
   * What the billing page's buttons do: `none` (the page only informs), `demo` (credits and
   * payments succeed at once: for demos and tests, never production), `stripe` (Stripe
   * Checkout; needs STRIPE_SECRET_KEY).
   */
  @IsIn(['none', 'demo', 'stripe'])
  BILLING_PAYMENT_PROVIDER: 'none' | 'demo' | 'stripe' = 'none';

  /**
   * Stripe price id → paygate plan key, e.g. "price_123=pro,price_456=team": a plan change in
   * Stripe's customer portal (customer.subscription.updated) moves the paygate subscription.
   */
  @Transform(({ value }) => priceMap(value))
  @IsObject()
  STRIPE_PLAN_PRICES: Record<string, string> = {};

  /** Plan keys the billing page offers as upgrades (demo provider: applied at once). */
  @Transform(({ value }) => csv(value))
  @IsString({ each: true })
  BILLING_UPGRADE_PLANS: string[] = [];

  /** Stripe Checkout top-ups: currency and price of one credit in its smallest unit. */
  @IsString()
  BILLING_CURRENCY: string = 'eur';

  @IsInt()
  @Min(1)
  BILLING_CREDIT_PRICE_CENTS: number = 1;

  /** The usage.recorded consumer group, before KAFKA_PREFIX. */
  @IsString()
  @MinLength(1)
  USAGE_RECORDED_GROUP_ID: string = 'paygate-entitlement';

  /** The usage.recorded consumer's group, KAFKA_PREFIX applied. */
  get usageRecordedGroup(): string {
    return this.kafkaName(this.USAGE_RECORDED_GROUP_ID);
  }

  /**
   * Signing secret of the Stripe webhook endpoint (whsec_...); unset disables
   * /v1/webhooks/stripe. `npm start` and the compose file set DEV_STRIPE_WEBHOOK_SECRET, which is
   * public (anyone who can reach the port could sign events with it): refused with real Stripe
   * payments (BILLING_PAYMENT_PROVIDER=stripe), and logged as a warning at start otherwise.
   */
  @IsOptional()
  @IsString()
  @Validate(DevSecretOnlyInDemos)
  STRIPE_WEBHOOK_SECRET?: string;

  /** Stripe API key (sk_...): required with BILLING_PAYMENT_PROVIDER=stripe. */
  @ValidateIf((c: EntitlementConfig) => c.BILLING_PAYMENT_PROVIDER === 'stripe')
  @IsString()
  @MinLength(8)
  STRIPE_SECRET_KEY?: string;

  /** Shares of a feature's included units that raise a usage.threshold alert. */
  @Transform(({ value }) => csv(value).map(decimalInteger))
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(100, { each: true })
  ALERT_USAGE_PERCENTS: number[] = [80, 100];

  /** A balance.low alert when a customer's credits fall to or below this. */
  @IsOptional()
  @IsInt()
  @Min(0)
  ALERT_LOW_BALANCE?: number;

  /**
   * A lease still held this long after its decision, and never closed by its gateway, is
   * released (its gateway crashed, or gave up waiting for the decision). Must be well above
   * the gateway's LEASE_MAX_AGE_MS (gateways close every lease they leave; a closed lease
   * never expires). Usage that arrives later for an expired lease is still charged, as
   * ordinary usage.
   */
  @IsInt()
  @Min(5)
  LEASE_TTL_SECONDS: number = 900;

  /** How often leases past LEASE_TTL_SECONDS are looked for. */
  @IsInt()
  @Min(1)
  @Max(3600)
  LEASE_EXPIRY_SWEEP_SECONDS: number = 30;

  /**
   * How long the claim of a processed message (a usage.recorded message, a give-back to a
   * closed lease) is kept: one delivered again later would be applied again, so this must
   * outlast how long the consumed topics keep a message. With Kafka's defaults that is up to
   * 336 hours (168 of retention, counted from the end of a segment rolled every 168), the
   * least this takes. Payments' claims are kept for good.
   */
  @IsInt()
  @Min(336)
  PROCESSED_MESSAGES_RETENTION_HOURS: number = 720;

  /**
   * How long the operator API remembers an `Idempotency-Key` (counted from the first request
   * with it): a retry within this replays the first response; after it the key is forgotten and
   * a request with it runs again. The default, a week, outlasts retries queued over a long
   * weekend's outage; the least is 24 hours, what Stripe keeps its keys, so a client written
   * against that never has a retry run twice. Far above the 5 minutes after which a claim never
   * completed is `unfinished`, so a request still running never loses its key. 0 is refused:
   * it would forget every key at once. Never shorter than BILLING_LINK_TTL_SECONDS in effect (a
   * shorter value is raised to it): a billing page's top-up form is single-use through such a
   * key for as long as its link is valid.
   */
  @IsInt()
  @Min(24)
  IDEMPOTENCY_KEYS_RETENTION_HOURS: number = 168;

  /** IDEMPOTENCY_KEYS_RETENTION_HOURS, raised to cover BILLING_LINK_TTL_SECONDS (see there). */
  get idempotencyKeysRetentionHours(): number {
    return Math.max(
      this.IDEMPOTENCY_KEYS_RETENTION_HOURS,
      Math.ceil(this.BILLING_LINK_TTL_SECONDS / 3600),
    );
  }
}
