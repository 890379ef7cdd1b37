import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { enqueueOutbox, isolatable } from '@paygate/database';
import type { InboundMessage, OutboundMessage } from '@paygate/messaging';
import { counter } from '@paygate/observability';
import { DataSource, EntityManager } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { METERING_SCHEMA } from '../database/metering.data-source';
import { MetersRepository } from '../meters/meters.repository';
import { RollupDelta, UniqueValue, rollupDeltas } from './rollup-deltas';
import {
  ClassifiedBatch,
  DeadLetter,
  HeldEvent,
  MeteredEvent,
  classifyBatch,
  dedupeKey,
} from './usage-batch';
import { CustomerDirectory } from '../customers/customer-directory';
import { customerHoldKey, lockHolds, meterHoldKey } from '../customers/holds';
import { usageRecordedMessages } from './usage-recorded';
import { dlqMessage, keptHeaders, letterValue, pgText } from '../dead-letters/dead-letter-copy';
import { UnmatchedEventsRepository } from './unmatched-events.repository';

const eventsCounter = counter('paygate_usage_events_total', 'Usage events by outcome', ['outcome']);
const deadLetterCounter = counter('paygate_usage_dead_letters_total', 'Dead letters by reason', [
  'reason',
]);
// Types are what publishers send, not a closed set: a flood of made-up types grows this series
// (bounded by the per-type cut above); the usage API's unmatched counts are the durable record.
const unmatchedCounter = counter(
  'paygate_usage_unmatched_events_total',
  'Events of a type no meter reads, skipped (policy skip), by type',
  ['type'],
);

export interface IngestResult {
  accepted: number;
  duplicates: number;
  /** Dead letters recorded for the first time (a redelivered batch records none again). */
  deadLettered: number;
  held: number;
  /** Events no meter reads, counted for the first time (policy skip). */
  unmatched: number;
}

const NO_COUNTS: IngestResult = {
  accepted: 0,
  duplicates: 0,
  deadLettered: 0,
  held: 0,
  unmatched: 0,
};

function merged(a: IngestOutcome, b: IngestOutcome): IngestOutcome {
  const counts = { ...NO_COUNTS };
  for (const k of Object.keys(counts) as (keyof IngestResult)[])
    counts[k] = a.counts[k] + b.counts[k];
  return { counts, deadLetters: [...a.deadLetters, ...b.deadLetters] };
}

export interface IngestOutcome {
  counts: IngestResult;
  /**
   * DLQ messages for every dead letter of the batch, redelivered or not: the consumer sends
   * them in the Kafka transaction that commits the batch's offset, so each appears once.
   */
  deadLetters: OutboundMessage[];
}

const isoOf = (ms: number) => new Date(ms).toISOString();

/** Customers and event types a classification found unknown (held or dead-lettered). */
function unknownOf(batch: ClassifiedBatch): { customers: Set<string>; types: Set<string> } {
  const customers = new Set<string>();
  const types = new Set<string>();
  for (const h of batch.held) {
    if (h.reason === 'unknown-customer') customers.add(h.subject);
    else types.add(h.eventType);
  }
  for (const l of batch.deadLetters) {
    if (l.reason === 'unknown-customer' && l.subject) customers.add(l.subject);
    if (l.reason === 'unknown-meter' && l.eventType) types.add(l.eventType);
  }
  return { customers, types };
}

/** The first occurrence of each key, in arrival order (latest-wins rollups depend on it). */
function inOrder(events: MeteredEvent[], byKey: Map<string, MeteredEvent>): MeteredEvent[] {
  const first = new Set(byKey.values());
  return events.filter((e) => first.has(e));
}

/**
 * Applies one consumed batch in one transaction: claims each event's dedupe key, adds the new
 * events to the minute rollups, records dead letters and queues usage.recorded in the outbox.
 * A crash before commit leaves no trace, and a crash after it finds every key already claimed
 * on redelivery. Dead letters go back to the consumer, which publishes them with the offset.
 */
@Injectable()
export class UsageIngestService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly meters: MetersRepository,
    @Inject(MeteringConfig) private readonly config: MeteringConfig,
    @Inject(Clock) private readonly clock: Clock,
    private readonly customers: CustomerDirectory,
    private readonly unmatched: UnmatchedEventsRepository,
  ) {}

  /**
   * Applies a batch, message by message in effect: when the database (or the code) refuses
   * something a message carries, the batch is split in halves, each applied in its own
   * transaction, down to the one message at fault, which is dead-lettered as `unprocessable`;
   * so no message can make its partition fail forever. Infrastructure failures (database or
   * broker unreachable) are thrown as they are, and the consumer retries the batch with
   * back-off. Applying in several transactions is safe for the same reason a redelivery is:
   * every write is keyed (dedupe keys, dead-letter identity, unmatched progress mark).
   */
  async ingest(messages: InboundMessage[]): Promise<IngestOutcome> {
    try {
      return await this.apply(messages);
    } catch (err) {
      if (!isolatable(err)) throw err;
      if (messages.length === 1) return this.apply(messages, err);
      const half = Math.ceil(messages.length / 2);
      const first = await this.ingest(messages.slice(0, half));
      return merged(first, await this.ingest(messages.slice(half)));
    }
  }

  /** One transaction; `refusal` dead-letters the (single) message instead of applying it. */
  private async apply(messages: InboundMessage[], refusal?: unknown): Promise<IngestOutcome> {
    const now = this.clock.now();
    const batch: ClassifiedBatch = refusal
      ? {
          accepted: [],
          held: [],
          unmatched: [],
          deadLetters: messages.map((message) => ({
            message,
            reason: 'unprocessable',
            detail: pgText(`refused by the database: ${(refusal as Error).message}`),
          })),
        }
      : await this.classify(messages, now);
    const result = await this.dataSource.transaction(async (manager) => {
      await this.confirmHolds(manager, batch.held);
      const fresh = await this.claim(manager, batch.accepted);
      const { deltas, uniques } = rollupDeltas(fresh);
      await this.addToRollups(manager, deltas);
      await this.addUniqueValues(manager, uniques);
      const deadLettered = await this.recordDeadLetters(manager, batch.deadLetters);
      const held = await this.hold(manager, batch.held);
      const unmatched = await this.unmatched.count(manager, batch.unmatched, now.getTime());
      await enqueueOutbox(
        manager,
        METERING_SCHEMA,
        usageRecordedMessages(fresh, now).map((m) => ({
          topic: this.config.topics.usageRecorded,
          key: m.customerId,
          value: JSON.stringify(m),
        })),
      );
      return {
        accepted: fresh.length,
        duplicates: batch.accepted.length - fresh.length,
        deadLettered,
        held,
        unmatched,
      };
    });
    eventsCounter.inc({ outcome: 'accepted' }, result.accepted);
    eventsCounter.inc({ outcome: 'unmatched' }, result.unmatched);
    for (const u of batch.unmatched) unmatchedCounter.inc({ type: u.eventType.slice(0, 100) });
    eventsCounter.inc({ outcome: 'duplicate' }, result.duplicates);
    eventsCounter.inc({ outcome: 'dead-lettered' }, result.deadLettered);
    eventsCounter.inc({ outcome: 'held' }, result.held);
    if (result.deadLettered > 0) {
      for (const l of batch.deadLetters) deadLetterCounter.inc({ reason: l.reason });
    }
    const { DEAD_LETTER_MAX_VALUE_BYTES: maxValue, DEAD_LETTER_MAX_BYTES: maxBytes } = this.config;
    return {
      counts: result,
      deadLetters: batch.deadLetters.map((l) =>
        dlqMessage(l, this.config.topics.usageDeadLetter, maxValue, maxBytes),
      ),
    };
  }

  /**
   * Classifies with the in-memory meters and known customers; when something looks unknown,
   * those caches are refreshed from the database once and the batch classified again, so a
   * meter or customer created a moment ago (perhaps on another instance) is not missed.
   */
  private async classify(messages: InboundMessage[], now: Date): Promise<ClassifiedBatch> {
    const run = () =>
      classifyBatch(messages, {
        metersFor: (type) => this.meters.forType(type),
        nowMs: now.getTime(),
        lateWindowMs: this.config.LATE_WINDOW_HOURS * 3_600_000,
        futureSkewMs: this.config.FUTURE_SKEW_SECONDS * 1000,
        unknownMeter: this.config.UNKNOWN_METER_POLICY,
        unknownCustomer: this.config.UNKNOWN_CUSTOMER_POLICY,
        customerKnown: (subject) => this.customers.isKnown(subject),
      });
    const batch = run();
    const unknown = unknownOf(batch);
    if (unknown.customers.size === 0 && unknown.types.size === 0) return batch;
    if (unknown.types.size > 0) await this.meters.reload();
    await this.customers.prefetch(unknown.customers);
    return run();
  }

  /**
   * Holding must not race a release: under the hold locks, a meter or customer that appeared
   * since classification fails the batch, which is then delivered again and classified anew.
   */
  private async confirmHolds(manager: EntityManager, held: HeldEvent[]): Promise<void> {
    if (held.length === 0) return;
    const types = [
      ...new Set(held.filter((h) => h.reason === 'unknown-meter').map((h) => h.eventType)),
    ];
    const subjects = [
      ...new Set(held.filter((h) => h.reason === 'unknown-customer').map((h) => h.subject)),
    ];
    await lockHolds(manager, [...types.map(meterHoldKey), ...subjects.map(customerHoldKey)]);
    const appeared: unknown[] = await manager.query(
      `SELECT 1 FROM "metering"."meters" WHERE "archived_at" IS NULL AND "event_type" = ANY($1)
       UNION ALL SELECT 1 FROM "metering"."known_customers" WHERE "customer_id" = ANY($2)`,
      [types, subjects],
    );
    if (appeared.length > 0)
      throw new Error('a meter or customer appeared while holding its events; batch retried');
  }

  /** Inserts dedupe rows; returns the events whose key was not seen before (once each). */
  private async claim(manager: EntityManager, events: MeteredEvent[]): Promise<MeteredEvent[]> {
    if (events.length === 0) return [];
    // In-batch duplicates are dropped here: only a key's first occurrence goes to the database.
    const byKey = new Map<string, MeteredEvent>();
    for (const e of events) {
      const key = dedupeKey(e.event);
      if (!byKey.has(key)) byKey.set(key, e);
    }
    // Sorted keys: two consumers claiming overlapping keys wait on each other, never deadlock.
    const keys = [...byKey.keys()].sort();
    const candidates = keys.map((k) => byKey.get(k)!);
    // Only the positions of keys claimed before come back (few), not every inserted row.
    const taken: { n: string }[] = await manager.query(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::float8[]) WITH ORDINALITY AS u(s, i, t, n)),
       claimed AS (
         INSERT INTO "metering"."events" ("source", "id", "time")
         SELECT s, i, to_timestamp(t / 1000.0) FROM input ORDER BY n
         ON CONFLICT DO NOTHING RETURNING "source", "id")
       SELECT input.n FROM input LEFT JOIN claimed c ON c."source" = input.s AND c."id" = input.i
       WHERE c."id" IS NULL`,
      [
        candidates.map((e) => e.event.source),
        candidates.map((e) => e.event.id),
        candidates.map((e) => e.timeMs),
      ],
    );
    if (taken.length === 0)
      return candidates.length === events.length ? events : inOrder(events, byKey);
    const seen = new Set(taken.map((r) => candidates[Number(r.n) - 1]));
    return inOrder(events, byKey).filter((e) => !seen.has(e));
  }

  private async addToRollups(manager: EntityManager, rows: RollupDelta[]): Promise<void> {
    if (rows.length === 0) return;
    await manager.query(
      `INSERT INTO "metering"."rollups" AS r ("customer_id", "meter_key", "meter_version",
         "group_key", "bucket_start", "value_sum", "value_max", "latest_value", "latest_at", "event_count")
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::jsonb[], $5::timestamptz[],
         $6::numeric[], $7::bigint[], $8::bigint[], $9::timestamptz[], $10::bigint[])
       ON CONFLICT ("customer_id", "meter_key", "bucket_start", "group_key", "meter_version") DO UPDATE
         SET "value_sum" = r."value_sum" + EXCLUDED."value_sum",
             "value_max" = GREATEST(r."value_max", EXCLUDED."value_max"),
             "latest_value" = CASE WHEN r."latest_at" IS NULL OR EXCLUDED."latest_at" >= r."latest_at"
               THEN EXCLUDED."latest_value" ELSE r."latest_value" END,
             "latest_at" = GREATEST(r."latest_at", EXCLUDED."latest_at"),
             "event_count" = r."event_count" + EXCLUDED."event_count"`,
      [
        rows.map((r) => r.customerId),
        rows.map((r) => r.meterKey),
        rows.map((r) => r.meterVersion),
        rows.map((r) => r.group),
        rows.map((r) => isoOf(r.bucketMs)),
        rows.map((r) => r.sum),
        rows.map((r) => r.max),
        rows.map((r) => r.latest),
        rows.map((r) => isoOf(r.latestMs)),
        rows.map((r) => r.count),
      ],
    );
  }

  private async addUniqueValues(manager: EntityManager, rows: UniqueValue[]): Promise<void> {
    if (rows.length === 0) return;
    await manager.query(
      `INSERT INTO "metering"."unique_values" ("customer_id", "meter_key", "meter_version",
         "group_key", "bucket_start", "value_hash")
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::jsonb[], $5::timestamptz[], $6::uuid[])
       ON CONFLICT DO NOTHING`,
      [
        rows.map((r) => r.customerId),
        rows.map((r) => r.meterKey),
        rows.map((r) => r.meterVersion),
        rows.map((r) => r.group),
        rows.map((r) => isoOf(r.bucketMs)),
        rows.map((r) => r.hash),
      ],
    );
  }

  /**
   * Records each dead-lettered message once (by topic, partition, offset and Kafka timestamp),
   * with its original bytes for replay; returns how many were new.
   */
  private async recordDeadLetters(manager: EntityManager, letters: DeadLetter[]): Promise<number> {
    if (letters.length === 0) return 0;
    const kept = letters.map((l) =>
      letterValue(l.message.value, this.config.DEAD_LETTER_MAX_VALUE_BYTES),
    );
    const rows: unknown[] = await manager.query(
      `INSERT INTO "metering"."dead_letters" ("topic", "partition", "offset", "kafka_timestamp",
         "reason", "detail", "key", "value", "headers", "value_bytes", "value_sha256", "value_cut")
       SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::text[],
         $6::text[], $7::text[], $8::bytea[], $9::jsonb[], $10::bigint[], $11::text[], $12::boolean[])
       ON CONFLICT DO NOTHING RETURNING 1`,
      [
        letters.map((l) => l.message.topic),
        letters.map((l) => l.message.partition),
        letters.map((l) => l.message.offset),
        letters.map((l) => l.message.timestamp),
        letters.map((l) => l.reason),
        // Whatever bytes a message carries, its letter must be recordable (Postgres text has no NUL).
        letters.map((l) => pgText(l.detail.slice(0, 2000))),
        letters.map((l) =>
          l.message.key ? pgText(l.message.key.toString().slice(0, 1024)) : null,
        ),
        kept.map((k) => k.value),
        letters.map((l) => pgText(JSON.stringify(keptHeaders(l.message)))),
        letters.map((l) => l.message.value?.length ?? 0),
        kept.map((k) => k.cut?.sha256 ?? null),
        kept.map((k) => Boolean(k.cut)),
      ],
    );
    return rows.length;
  }

  /** Keeps events no meter reads yet; defining such a meter sends them through again. */
  private async hold(manager: EntityManager, held: HeldEvent[]): Promise<number> {
    if (held.length === 0) return 0;
    const rows: unknown[] = await manager.query(
      `INSERT INTO "metering"."held_events" ("topic", "partition", "offset", "kafka_timestamp",
         "event_type", "key", "value", "headers", "reason", "subject")
       SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::text[],
         $6::text[], $7::bytea[], $8::jsonb[], $9::text[], $10::text[])
       ON CONFLICT DO NOTHING RETURNING 1`,
      [
        held.map((h) => h.message.topic),
        held.map((h) => h.message.partition),
        held.map((h) => h.message.offset),
        held.map((h) => h.message.timestamp),
        held.map((h) => h.eventType),
        held.map((h) => h.message.key?.toString() ?? null),
        held.map((h) => h.message.value ?? Buffer.alloc(0)),
        held.map((h) => JSON.stringify(h.message.headers)),
        held.map((h) => h.reason),
        held.map((h) => h.subject),
      ],
    );
    return rows.length;
  }
}
