import { USAGE_EVENT_LIMITS } from '@paygate/contracts';
import { DatabaseServiceConfig, OperatorPortApart, csv } from '@paygate/config';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, Min, MinLength, Validate } from 'class-validator';
import { DEFAULT_MAX_CHUNK_BYTES } from '@paygate/messaging';
import {
  UNKNOWN_METER_POLICIES,
  type UnknownCustomerPolicy,
  type UnknownMeterPolicy,
} from '../usage/usage-batch';

// Explicit property types: decorator metadata needs them to convert env strings.
export class MeteringConfig extends DatabaseServiceConfig {
  @IsInt()
  @Min(1)
  @Max(65535)
  HTTP_PORT: number = 3002;

  /**
   * A listener of its own for the operator API (`/v1/…`: meters, usage, dead letters, and
   * `/docs`): set, HTTP_PORT answers those paths 404 and serves only what other services reach
   * (`/events`, /health, /ready), so it can be published for them without the API that
   * changes meters and replays dead letters. Unset: both on HTTP_PORT.
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

  /** The usage consumer group (KAFKA_PREFIX applied), also its transactional-id prefix. */
  @IsString()
  @MinLength(1)
  USAGE_GROUP_ID: string = 'paygate-metering';

  /**
   * The usage topic consumed, as a full name (no prefix applied); unset, the deployment's
   * (KAFKA_PREFIX + paygate.usage.v1). Another one isolates a benchmark or a migration.
   */
  @IsString()
  USAGE_TOPIC: string = '';

  /** The topic consumed: USAGE_TOPIC, or the deployment's usage topic. */
  get usageTopic(): string {
    return this.USAGE_TOPIC || this.topics.usage;
  }

  /** The usage consumer's group (and transactional-id prefix), KAFKA_PREFIX applied. */
  get usageGroup(): string {
    return this.kafkaName(this.USAGE_GROUP_ID);
  }

  /** How often meter definitions are reloaded from the database. */
  @IsInt()
  @Min(100)
  METER_REFRESH_MS: number = 5000;

  /**
   * How long an event's (source, id) is remembered. Must be at least the late-event window
   * plus the future skew: an event older than that is refused as late before it could be
   * claimed again, so pruning never lets a duplicate through.
   */
  @IsInt()
  @Min(1)
  DEDUPE_WINDOW_HOURS: number = 168;

  /** Events whose time is older than this are dead-lettered with reason `late`. */
  @IsInt()
  @Min(1)
  LATE_WINDOW_HOURS: number = 72;

  /** Events dated further in the future than this are refused (clock skew allowance). */
  @IsInt()
  @Min(0)
  @Max(86_400)
  FUTURE_SKEW_SECONDS: number = 300;

  /**
   * Events of a type no meter reads: skip them (default: counted per type in the usage API and
   * in `paygate_usage_unmatched_events_total`, not errors), dead-letter them, or hold them until
   * a meter does.
   */
  @IsIn(UNKNOWN_METER_POLICIES)
  UNKNOWN_METER_POLICY: UnknownMeterPolicy = 'skip';

  /**
   * Dead letters keep at most this many bytes of the refused message's value (on the DLQ topic
   * and in the table); a longer value is cut, with its size and SHA-256 recorded. The default
   * is the largest event metering accepts (USAGE_EVENT_LIMITS.maxBytes): every letter that a
   * replay could ever turn into usage is kept whole, and a flood of oversized messages costs
   * the DLQ and the table no more than that each.
   */
  @IsInt()
  @Min(1024)
  @Max(DEFAULT_MAX_CHUNK_BYTES)
  DEAD_LETTER_MAX_VALUE_BYTES: number = USAGE_EVENT_LIMITS.maxBytes;

  /** Most bytes of one DLQ message, headers included: under the topic's max.message.bytes. */
  @IsInt()
  @Min(64 * 1024)
  @Max(DEFAULT_MAX_CHUNK_BYTES)
  DEAD_LETTER_MAX_BYTES: number = DEFAULT_MAX_CHUNK_BYTES;

  /**
   * How long a dead letter is kept in the table (for listing and replay), counted from when it
   * was recorded; older ones are deleted (the DLQ topic keeps its own copy for as long as its
   * retention says). The default, 30 days, leaves a month to find why events were refused and
   * replay them, well past LATE_WINDOW_HOURS (72): a replayed event is checked against that
   * window again, so a letter replayed later only comes back as `late`. Never shorter than
   * DEDUPE_WINDOW_HOURS (168 by default) in effect, the furthest LATE_WINDOW_HOURS may be
   * raised for a late replay (a shorter value is raised to it), so no letter that could still
   * count is deleted. 0 is refused: it would delete every letter at once.
   */
  @IsInt()
  @Min(1)
  DEAD_LETTER_RETENTION_HOURS: number = 720;

  /**
   * How many UTC days of counts of unmatched events (`GET /v1/usage/unmatched`: one row per
   * event type and day) are kept besides today's; older days are deleted. The default, 90
   * days, shows what publishers sent that nothing bills over three monthly billing periods.
   * Never fewer than DEDUPE_WINDOW_HOURS in days (7 by default) in effect (fewer are raised to
   * it): a meter created for such a type counts the events its publisher sends again (with
   * their original `time`) within the late window, which may be raised that far, and these
   * counts say how many to expect per day. 0 is refused: it would delete the counts of every
   * day before today.
   */
  @IsInt()
  @Min(1)
  UNMATCHED_EVENTS_RETENTION_DAYS: number = 90;

  /** DEAD_LETTER_RETENTION_HOURS, raised to cover DEDUPE_WINDOW_HOURS (see there). */
  get deadLetterRetentionHours(): number {
    return Math.max(this.DEAD_LETTER_RETENTION_HOURS, this.DEDUPE_WINDOW_HOURS);
  }

  /** UNMATCHED_EVENTS_RETENTION_DAYS, raised to cover DEDUPE_WINDOW_HOURS (see there). */
  get unmatchedEventsRetentionDays(): number {
    return Math.max(this.UNMATCHED_EVENTS_RETENTION_DAYS, Math.ceil(this.DEDUPE_WINDOW_HOURS / 24));
  }

  /**
   * Events for a customer the entitlement service has not announced: accept them (default;
   * usage may be recorded before the customer is created), dead-letter them, or hold them
   * until the customer is created.
   */
  @IsIn(['accept', 'dead-letter', 'hold'])
  UNKNOWN_CUSTOMER_POLICY: UnknownCustomerPolicy = 'accept';

  /** Kafka batches of different partitions applied at once (each in its own transaction). */
  @IsInt()
  @Min(1)
  @Max(16)
  PARTITIONS_CONCURRENTLY: number = 3;

  /** A crashed instance's partitions move to the others after this long (broker min 6000). */
  @IsInt()
  @Min(6000)
  @Max(300_000)
  CONSUMER_SESSION_TIMEOUT_MS: number = 10_000;

  /**
   * Kafka's fetch.min.bytes: the broker answers a fetch once this much usage is waiting (or
   * FETCH_MAX_WAIT_MS passed). Every batch costs one Postgres and one Kafka transaction, so
   * gathering bigger batches at moderate rates cuts the cost per event several times over.
   * 1 answers at once (lowest latency, most transactions).
   */
  @IsInt()
  @Min(1)
  @Max(64 * 1024 * 1024)
  FETCH_MIN_BYTES: number = 1024 * 1024;

  /**
   * Kafka's fetch.max.wait.ms: the most latency batch gathering adds. Gateways send their
   * usage folded every USAGE_AGGREGATE_MS (100): waiting 500 ms gathers about five of those
   * sends into one batch, and one usage.recorded message per customer and meter.
   */
  @IsInt()
  @Min(0)
  @Max(5_000)
  FETCH_MAX_WAIT_MS: number = 500;

  /** Bearer tokens of services allowed to POST /events; empty disables HTTP ingestion. */
  @Transform(({ value }) => csv(value))
  @IsString({ each: true })
  @MinLength(16, { each: true })
  SERVICE_TOKENS: string[] = [];

  static windowsError(config: MeteringConfig): string | null {
    const needed = config.LATE_WINDOW_HOURS + Math.ceil(config.FUTURE_SKEW_SECONDS / 3600);
    return config.DEDUPE_WINDOW_HOURS >= needed
      ? null
      : `DEDUPE_WINDOW_HOURS must be at least LATE_WINDOW_HOURS plus the future skew (${needed})`;
  }
}
