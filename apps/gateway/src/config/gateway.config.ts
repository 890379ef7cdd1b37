import {
  GRPC_TOKEN_MIN_LENGTH,
  type GrpcChannelTlsSettings,
  GrpcTokenCharacters,
  ServiceConfig,
  channelTls,
  csv,
  envBoolean,
} from '@paygate/config';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  Validate,
  ValidateIf,
  type ValidationArguments,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import type { PaymentSettings } from '../routes/route-table';
import { USAGE_AGGREGATE_WINDOWS_MS } from '../usage/usage-aggregator';

/** ENTITLEMENT_GRPC_SERVER_NAME is for a TLS connection: without TLS it would do nothing. */
@ValidatorConstraint({ name: 'needsTls' })
class NeedsTls implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return args.object instanceof GatewayConfig && args.object.entitlementGrpcTls;
  }

  defaultMessage(): string {
    return 'names the certificate of a TLS connection: needs ENTITLEMENT_GRPC_TLS (or a CA file)';
  }
}

// Explicit property types: decorator metadata needs them to convert env strings.
export class GatewayConfig extends ServiceConfig {
  @IsInt()
  @Min(1)
  @Max(65535)
  HTTP_PORT: number = 8080;

  /** host:port of the entitlement service's gRPC endpoint. */
  @IsString()
  ENTITLEMENT_GRPC_URL: string = '127.0.0.1:50051';

  /**
   * Sent on every call to the entitlement service as metadata `authorization: Bearer <token>`:
   * one of its GRPC_TOKENS (at least 32 visible ASCII characters, no comma). Unset: calls carry
   * none, which an entitlement service with GRPC_TOKENS refuses. A refused token (missing,
   * wrong, or rotated away) makes every call fail: requests its leases do not cover are
   * answered 503, on routes that fail open too (a misconfiguration, not an outage), `/ready` fail naming this variable whatever the routes'
   * policies, and the gateway log one error naming it, until the service takes the token.
   */
  @IsOptional()
  @IsString()
  @MinLength(GRPC_TOKEN_MIN_LENGTH)
  @Validate(GrpcTokenCharacters)
  ENTITLEMENT_GRPC_TOKEN?: string;

  /**
   * Speak TLS to the entitlement service (whose gRPC port has GRPC_TLS_CERT_FILE), checking its
   * certificate against Node's trusted roots (its bundled Mozilla list, plus NODE_EXTRA_CA_CERTS):
   * for a certificate from a public CA. Implied by any `ENTITLEMENT_GRPC_*_FILE`. A TLS failure
   * never reaches the service: every call fails as if it were down, and `/ready` fails saying
   * why. One the handshake names (an untrusted certificate, a port without TLS, a client
   * certificate required) is a misconfiguration, not an outage: no route fails open on it
   * (docs/operations.md, "TLS on the gRPC port").
   */
  @Transform(envBoolean)
  @IsBoolean()
  ENTITLEMENT_GRPC_TLS: boolean = false;

  /**
   * PEM bundle of the CA(s) to trust for the entitlement service's certificate instead of
   * Node's roots (a private CA); implies TLS. Read at start, where a missing, unreadable or
   * non-PEM file stops the gateway, naming the variable; renewed later without a restart
   * (ENTITLEMENT_GRPC_TLS_RELOAD_MS).
   */
  @IsOptional()
  @IsString()
  ENTITLEMENT_GRPC_CA_FILE?: string;

  /**
   * PEM client certificate the gateway presents, for a port with mutual TLS
   * (GRPC_TLS_CLIENT_CA_FILE must have signed it); set with ENTITLEMENT_GRPC_KEY_FILE, implies
   * TLS. Read at start; renewed later without a restart (ENTITLEMENT_GRPC_TLS_RELOAD_MS).
   */
  @ValidateIf((c: GatewayConfig) => c.ENTITLEMENT_GRPC_KEY_FILE !== undefined)
  @IsString({ message: 'required with ENTITLEMENT_GRPC_KEY_FILE (the certificate of that key)' })
  ENTITLEMENT_GRPC_CERT_FILE?: string;

  /** PEM private key (unencrypted) of ENTITLEMENT_GRPC_CERT_FILE; both are set, or neither. */
  @ValidateIf((c: GatewayConfig) => c.ENTITLEMENT_GRPC_CERT_FILE !== undefined)
  @IsString({ message: 'required with ENTITLEMENT_GRPC_CERT_FILE (its private key)' })
  ENTITLEMENT_GRPC_KEY_FILE?: string;

  /**
   * The name the entitlement service's certificate must hold (and sent as SNI), when it is not
   * ENTITLEMENT_GRPC_URL's host: e.g. the URL is an IP address and the certificate names
   * `entitlement.internal`. Needs TLS.
   */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @Validate(NeedsTls)
  ENTITLEMENT_GRPC_SERVER_NAME?: string;

  /**
   * How often (ms) ENTITLEMENT_GRPC_CA_FILE, _CERT_FILE and _KEY_FILE are looked at for a
   * renewal, taken without a restart once it has settled and passes the checks made at start
   * (otherwise refused, logged as an error and counted in paygate_tls_reloads_total, the files
   * read before staying in use); the next connection to the service gets it. 0: read at start
   * only; at most a day.
   */
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  ENTITLEMENT_GRPC_TLS_RELOAD_MS: number = 60_000;

  /** The gateway's side of the gRPC link's TLS (ENTITLEMENT_GRPC_TLS and the files). */
  get entitlementGrpcTlsSettings(): GrpcChannelTlsSettings {
    return {
      tls: this.ENTITLEMENT_GRPC_TLS,
      ca: { variable: 'ENTITLEMENT_GRPC_CA_FILE', path: this.ENTITLEMENT_GRPC_CA_FILE },
      cert: { variable: 'ENTITLEMENT_GRPC_CERT_FILE', path: this.ENTITLEMENT_GRPC_CERT_FILE },
      key: { variable: 'ENTITLEMENT_GRPC_KEY_FILE', path: this.ENTITLEMENT_GRPC_KEY_FILE },
    };
  }

  /** Whether the gateway speaks TLS to the entitlement service. */
  get entitlementGrpcTls(): boolean {
    return channelTls(this.entitlementGrpcTlsSettings);
  }

  /** Deadline of one decision call; past it the route's failure policy answers (503). */
  @IsInt()
  @Min(10)
  DECISION_TIMEOUT_MS: number = 2000;

  /**
   * Deadline of the calls made for a request that pays: journaling and crediting its payment,
   * and admitting it once credited (also the settlement rounds' calls). Longer than a decision's
   * because the payer has paid: one customer's payments are credited one at a time, so a burst
   * of them queues, and a 503 after paying only makes the payer come back.
   */
  @IsInt()
  @Min(10)
  @Max(120_000)
  PAYMENT_CALL_TIMEOUT_MS: number = 10_000;

  /** Route table, JSON or YAML (.yaml/.yml); reloaded when it changes or on SIGHUP. */
  @IsString()
  ROUTES_FILE: string = 'config/routes.json';

  /** How often the route file is checked for changes. */
  @IsInt()
  @Min(100)
  ROUTES_POLL_MS: number = 1000;

  @IsInt()
  @Min(1)
  BODY_LIMIT_BYTES: number = 10 * 1024 * 1024;

  @IsInt()
  @Min(10)
  UPSTREAM_TIMEOUT_MS: number = 30_000;

  /**
   * The least a caller's body must arrive at while the gateway streams it to the upstream, in
   * bytes a second (as received, chunk framing included), measured over each
   * UPSTREAM_TIMEOUT_MS: a caller that sends less in such a
   * window is answered 408 `request-timeout`, its connection closed and its units given back.
   * Without it, a byte every few seconds would hold a connection, a concurrency slot and an
   * upstream connection for as long as the caller likes. A window in which the upstream held
   * the body back (it read slowly) asks only for some byte. 240 is ASP.NET Core Kestrel's
   * default (MinRequestBodyDataRate); 0 asks only for a byte in each window.
   */
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  BODY_MIN_BYTES_PER_SECOND: number = 240;

  /**
   * Usage events kept in memory while Kafka does not take them. When full, metered requests
   * are refused (503) instead of served unmetered: back-pressure, never a silent drop.
   */
  @IsInt()
  @Min(100)
  USAGE_BUFFER_MAX: number = 100_000;

  /**
   * Served requests are reported to metering folded per this many ms (one event per window,
   * lease and kind of request, with exact counts: docs/metering.md); 0 sends one event per
   * request. A gateway killed with kill -9 loses at most this window's and the buffer's usage.
   * Must divide a minute.
   */
  @IsIn(USAGE_AGGREGATE_WINDOWS_MS)
  USAGE_AGGREGATE_MS: number = 100;

  /**
   * Most units one lease reserves for this replica (ARCHITECTURE.md §4). A lease is sized to
   * the key's own demand on this replica (LEASE_AHEAD_MS of it plus what waits), so this caps
   * only keys busier than LEASE_MAX_UNITS a second there: what such a key holds unused, and a
   * killed replica's bound (docs/decisions-and-leases.md), is about LEASE_AHEAD_MS of its own
   * traffic up to this cap. 10,000: a lease cycle costs the entitlement service milliseconds
   * of CPU, and 1,000 made a key at 6,000 requests/s ask six times a second (benchmarks.md).
   * 1 asks the entitlement service for every metered request.
   */
  @IsInt()
  @Min(1)
  LEASE_MAX_UNITS: number = 10_000;

  /** A lease is sized for this much of the recent request rate (plus what waits now). */
  @IsInt()
  @Min(1)
  LEASE_AHEAD_MS: number = 1000;

  /** Unused lease units go back to the ledger after this long without a request using them. */
  @IsInt()
  @Min(50)
  LEASE_IDLE_MS: number = 2000;

  /**
   * And at the latest this long after they were granted (far below LEASE_TTL_SECONDS). Also
   * how late a change that no event announces (a grace period or subscription running out)
   * can reach requests admitted from a lease.
   */
  @IsInt()
  @Min(100)
  LEASE_MAX_AGE_MS: number = 10_000;

  /**
   * Units a route with `failurePolicy: open` admits per key and feature without a lease while
   * the entitlement service is unreachable: how far below zero such a key can go per outage.
   */
  @IsInt()
  @Min(0)
  FAIL_OPEN_MAX_UNITS: number = 100;

  /**
   * Routes with `failurePolicy: open` keep admitting a key while the entitlement service is
   * unreachable only if it was allowed this recently (and at most FAIL_OPEN_MAX_UNITS units).
   */
  @IsInt()
  @Min(0)
  FAIL_OPEN_MAX_AGE_MS: number = 300_000;

  /**
   * Consumer group for entitlement.changed (key revocations, plan changes drop leases at once).
   * Every replica needs its own: each must see every change.
   */
  @IsString()
  CHANGES_GROUP_ID: string = '';

  /**
   * Serves the demo single-page app (dist/demo/spa) at /_paygate/demo/ from this folder; unset,
   * the gateway serves nothing but its own endpoints and the routes.
   */
  @IsOptional()
  @IsString()
  DEMO_APP_DIR?: string;

  /**
   * The topic usage events are published to (metering's USAGE_TOPIC), as a full name; unset,
   * the deployment's (KAFKA_PREFIX + paygate.usage.v1).
   */
  @IsString()
  USAGE_TOPIC: string = '';

  /** The topic usage events go to: USAGE_TOPIC, or the deployment's usage topic. */
  get usageTopic(): string {
    return this.USAGE_TOPIC || this.topics.usage;
  }

  /** CloudEvents `source` of the usage events this gateway publishes. */
  @IsString()
  USAGE_EVENT_SOURCE: string = 'paygate-gateway';

  /**
   * Key of the HMAC that binds each payment challenge's id to its realm, method, intent,
   * request and expiry, so a credential is checked without stored state. Required when a route
   * has a `price`; every gateway replica needs the same one.
   */
  @IsOptional()
  @IsString()
  @MinLength(32)
  PAYMENT_CHALLENGE_SECRET?: string;

  /** `realm` of the Payment challenges; the request's host when unset. */
  @IsOptional()
  @IsString()
  PAYMENT_REALM?: string;

  /** How long an offer (challenge) can be paid. */
  @IsInt()
  @Min(30)
  @Max(3600)
  PAYMENT_CHALLENGE_TTL_SECONDS: number = 300;

  /**
   * Enables the built-in test payment method (network `paygate:test`: vouchers signed by a
   * local Ed25519 test wallet, settled locally) for demos and tests; routes priced in it are
   * refused while it is off.
   */
  @Transform(envBoolean)
  @IsBoolean()
  PAYMENT_TEST_METHOD: boolean = false;

  /**
   * x402 facilitators per network, "eip155:8453=https://facilitator.example/x402,…": payments
   * on a network are verified and settled through its facilitator.
   */
  @Transform(({ value }) => csv(value))
  @Matches(/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}=https?:\/\/\S+$/, {
    each: true,
    message: 'PAYMENT_FACILITATORS: comma-separated <CAIP-2 network>=<facilitator URL>',
  })
  PAYMENT_FACILITATORS: string[] = [];

  /**
   * How often this gateway looks for payments to settle after the fact: `upto` authorizations
   * whose hold ended, and journaled payments whose gateway never reported their settlement.
   */
  @IsInt()
  @Min(100)
  @Max(600_000)
  PAYMENT_SETTLE_INTERVAL_MS: number = 5000;

  /**
   * The largest share of a plan rate limit's window one replica takes at a time, in percent of
   * the limit (at least one request): replicas share each window through the entitlement
   * service, and a request may be refused while other replicas hold up to this much each.
   */
  @IsInt()
  @Min(1)
  @Max(100)
  RATE_LIMIT_SLICE_PERCENT: number = 10;

  /**
   * Unused slots of a plan concurrency limit one replica keeps, in percent of the limit (at
   * least one): replicas share the limit through the entitlement service, and a request may be
   * refused while each other replica keeps up to twice this many unused.
   */
  @IsInt()
  @Min(1)
  @Max(100)
  CONCURRENCY_SPARE_PERCENT: number = 10;

  /**
   * How long the entitlement service counts a replica's concurrency slots unless it sets them
   * again (it does every third of this): how long a killed replica's slots stay unusable.
   */
  @IsInt()
  @Min(3)
  @Max(3600)
  CONCURRENCY_HOLD_SECONDS: number = 30;

  /**
   * How long a payment this gateway journaled is its own to settle and report: after that
   * (it died between settling and crediting), any gateway settles it, and the payer's retry may.
   * Longer than the facilitator takes to settle.
   */
  @IsInt()
  @Min(10)
  @Max(3600)
  PAYMENT_JOURNAL_CLAIM_SECONDS: number = 30;

  /** Facilitator base URL per network (PAYMENT_FACILITATORS). */
  get facilitators(): Map<string, string> {
    return new Map(
      this.PAYMENT_FACILITATORS.map((entry) => {
        const at = entry.indexOf('=');
        return [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }

  /** What route tables are checked against (a priced route must be payable). */
  get paymentSettings(): PaymentSettings {
    return {
      challengeSecret: this.PAYMENT_CHALLENGE_SECRET,
      testMethod: this.PAYMENT_TEST_METHOD,
      facilitatorNetworks: [...this.facilitators.keys()],
      challengeTtlSeconds: this.PAYMENT_CHALLENGE_TTL_SECONDS,
    };
  }
}
