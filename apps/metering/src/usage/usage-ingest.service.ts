import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { enqueueOutbox, isolatable } from '@paygate/database';
import type { InboundMessage, OutboundMessage } from '@paygate/messaging';
import { counter } from '@paygate/observability';
import { DataSource, EntityManager } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { METERING_SCHEMA } from '../database/metering.data-source';
import { MetersRepository } from '../meters/meters.repository';
import { rollupDeltas } from './rollup-deltas';
import { ClassifiedBatch, HeldEvent, MeteredEvent, classifyBatch, dedupeKey } from './usage-batch';
import { CustomerDirectory } from '../customers/customer-directory';
import { customerHoldKey, lockHolds, meterHoldKey } from '../customers/holds';
import { usageRecordedMessages } from './usage-recorded';
import { dlqMessage, pgText } from '../dead-letters/dead-letter-copy';
import { deadLetters } from '../dead-letters/dead-letters.repository';
import { heldEvents } from '../customers/held-events.repository';
import { UnmatchedEventsRepository } from './unmatched-events.repository';
import { dedupeKeys } from './dedupe-keys.repository';
import { usageRollups } from './usage-rollups.repository';
import { TypeLabels } from './type-label';

const eventsCounter = counter('paygate_usage_events_total', 'Usage events by outcome', ['outcome']);
const deadLetterCounter = counter('paygate_usage_dead_letters_total', 'Dead letters by reason', [
  'reason',
]);
// Types are what publishers send, not a closed set: labelled through TypeLabels, so a flood of
// made-up types adds one series, not one each; the usage API's unmatched counts keep each type.
const typeLabels = new TypeLabels();
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
      await usageRollups.add(manager, deltas);
      await usageRollups.addUniqueValues(manager, uniques);
      const deadLettered = await deadLetters.add(
        manager,
        batch.deadLetters,
        this.config.DEAD_LETTER_MAX_VALUE_BYTES,
      );
      // Keeps events no meter reads yet; defining such a meter sends them through again.
      const held = await heldEvents.add(manager, batch.held);
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
    for (const u of batch.unmatched) unmatchedCounter.inc({ type: typeLabels.of(u.eventType) });
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
    if (await heldEvents.anyNowKnown(manager, types, subjects))
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
    const taken = await dedupeKeys.claim(
      manager,
      candidates.map((e) => ({ source: e.event.source, id: e.event.id, timeMs: e.timeMs })),
    );
    if (taken.length === 0)
      return candidates.length === events.length ? events : inOrder(events, byKey);
    const seen = new Set(taken.map((n) => candidates[n - 1]));
    return inOrder(events, byKey).filter((e) => !seen.has(e));
  }
}
