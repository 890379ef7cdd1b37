import { Transform } from 'class-transformer';
import {
  ArrayNotEmpty,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { KAFKA_PREFIX_PATTERN, topicNames, type Topics } from '@paygate/contracts';
import { csv } from './load-config';

/**
 * A token of the entitlement service's gRPC port (GRPC_TOKENS, the gateway's
 * ENTITLEMENT_GRPC_TOKEN) is visible ASCII but the comma: grpc-js refuses any other character in
 * a metadata value, a space would end the bearer token, and the comma separates GRPC_TOKENS.
 */
@ValidatorConstraint({ name: 'grpcTokenCharacters' })
export class GrpcTokenCharacters implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && /^[\x21-\x2b\x2d-\x7e]+$/.test(value);
  }

  // Never the value: it is a secret.
  defaultMessage(): string {
    return 'a token must be visible ASCII characters, without space or comma';
  }
}

/**
 * A variable that means something only with others set too, `@Validate(NeedsVariables,
 * ['A', 'B'])` (with @IsOptional: checked only when it is set itself): refused, naming them,
 * when any of them is unset, rather than silently doing nothing.
 */
@ValidatorConstraint({ name: 'needsVariables' })
export class NeedsVariables implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    const config = args.object as Record<string, unknown>;
    return (args.constraints as string[]).every((name) => config[name] !== undefined);
  }

  defaultMessage(args: ValidationArguments): string {
    return `needs ${(args.constraints as string[]).join(' and ')} set too`;
  }
}

/** Shortest gRPC token, long enough to be random rather than a word (`openssl rand -hex 32`). */
export const GRPC_TOKEN_MIN_LENGTH = 32;

// Explicit property types: decorator metadata needs them to convert env strings.

/** What every paygate service reads: its broker, the address it binds, its log level. */
export class ServiceConfig {
  @Transform(({ value }) => csv(value))
  @ArrayNotEmpty()
  KAFKA_BROKERS: string[] = ['127.0.0.1:9092'];

  /**
   * Put before every topic, consumer group and transactional id of this deployment (e.g.
   * "staging."), so that deployments sharing a broker never read or write each other's
   * messages; the tests use a fresh one per run. Empty: the plain names (paygate.usage.v1, ...).
   */
  @Matches(KAFKA_PREFIX_PATTERN, { message: 'KAFKA_PREFIX: up to 64 of A-Z a-z 0-9 . _ -' })
  KAFKA_PREFIX: string = '';

  @IsString()
  HTTP_HOST: string = '127.0.0.1';

  /**
   * The admin listener (/metrics): 127.0.0.1 unless set, a port of its own (default
   * HTTP_PORT + 1000: gateway 9080, entitlement 4001, metering 4002); never the public port
   * (docs/operations.md "Secrets and admin endpoints").
   */
  @IsString()
  ADMIN_HTTP_HOST: string = '127.0.0.1';

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  ADMIN_HTTP_PORT?: number;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
  LOG_LEVEL: string = 'info';

  /**
   * Log lines are gathered until this many bytes wait and written together, at least once a
   * second (as Envoy and nginx can buffer access logs), each write at most 4,096 bytes of whole
   * lines, so lines of up to 4 KiB never interleave on a pipe. A standard output that takes
   * nothing (a full pipe, a stalled log shipper) then no longer stops the service: it goes on
   * serving, up to 16 MiB of lines wait and later ones are dropped and counted, and at exit an
   * output stuck for a second is given up on. Lines are written out on every exit that runs
   * code (shutdown, SIGTERM, a crash that exits); a `kill -9` loses what was gathered. 0: each
   * line is written as it is logged, and a stuck output blocks the service. The default, the
   * most, halves the writes of the gateway's access lines against 2,048 (docs/benchmarks.md).
   */
  @IsInt()
  @Min(0)
  @Max(4_000)
  LOG_BUFFER_BYTES: number = 4000;

  /** Per-deployment problem statuses, e.g. "feature-not-in-plan=403" (ARCHITECTURE.md §3). */
  @IsString()
  PROBLEM_STATUSES: string = '';

  /**
   * A Kafka consumer of the service that has lag and has not advanced for this long is
   * stalled: `/ready` fails naming it, `paygate_consumer_stalled` is 1, and an alert is sent
   * (where the service has an alert webhook).
   */
  @IsInt()
  @Min(5)
  @Max(86_400)
  CONSUMER_STALL_SECONDS: number = 60;

  /** This deployment's topics (KAFKA_PREFIX applied). */
  get topics(): Topics {
    return topicNames(this.KAFKA_PREFIX);
  }

  /** A consumer group or transactional id of this deployment (KAFKA_PREFIX applied). */
  kafkaName(name: string): string {
    return `${this.KAFKA_PREFIX}${name}`;
  }
}

/** The database of a local run: the services' DATABASE_URL default, and the operator scripts'. */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/paygate';

/** Services that own a database schema and serve an operator API. */
export class DatabaseServiceConfig extends ServiceConfig {
  @IsString()
  DATABASE_URL: string = DEFAULT_DATABASE_URL;

  /**
   * Connections the service's Postgres pool may open (each replica its own). Callers queued for
   * one show in `paygate_db_pool_connections{state="waiting"}`; every replica's pool together
   * must stay under the server's `max_connections`.
   */
  @IsInt()
  @Min(1)
  @Max(1_000)
  DATABASE_POOL_SIZE: number = 10;

  /**
   * Longest one statement may run: Postgres cancels it after this (`statement_timeout`), and
   * a query that gets no answer at all 2 s later (a database host that stopped answering
   * without closing the connection) ends its connection, which the pool replaces. Waiting for a
   * free or new connection gives up after as long. Statements of a busy instance take
   * milliseconds; the timeout bounds what a stalled database holds, not their work.
   */
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  DATABASE_QUERY_TIMEOUT_MS: number = 30_000;

  /** Operators send it as "Authorization: Bearer <token>". */
  @IsString()
  @MinLength(16)
  ADMIN_TOKEN!: string;

  /**
   * Operator URL that receives the service's signed alerts (entitlement: usage thresholds and
   * low balances; both: a stalled consumer); unset disables alerts.
   */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  ALERT_WEBHOOK_URL?: string;

  /** HMAC key of the Paygate-Signature header; required with ALERT_WEBHOOK_URL. */
  @ValidateIf((c: DatabaseServiceConfig) => c.ALERT_WEBHOOK_URL !== undefined)
  @IsString()
  @MinLength(16)
  ALERT_WEBHOOK_SECRET?: string;
}
