import { Inject, Injectable } from '@nestjs/common';
import { DEAD_LETTER_HEADERS, LeasedUsage, TOPICS, UsageRecordedEvent } from '@paygate/contracts';
import { OutboxMessage, enqueueOutbox } from '@paygate/database';
import type { InboundMessage } from '@paygate/messaging';
import { counter } from '@paygate/observability';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { METERING_SCHEMA } from '../database/metering.data-source';
import { MetersRepository } from '../meters/meters.repository';
import { DeadLetter, MeteredEvent, bucketStart, classifyBatch, dedupeKey } from './usage-batch';

const eventsCounter = counter('paygate_usage_events_total', 'Usage events by outcome', ['outcome']);

interface Recorded {
  customerId: string;
  meterKey: string;
  quantity: number;
  leased: Map<string, number>;
  first: string;
  last: string;
}

/**
 * Applies one consumed batch in one transaction: claims each event's dedupe key, adds the new
 * events to the minute rollups, and queues usage.recorded and dead letters in the outbox.
 * Nothing is published directly, so a crash anywhere before commit leaves no trace, and a
 * crash after it finds every key already claimed on redelivery.
 */
@Injectable()
export class UsageIngestService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly meters: MetersRepository,
  ) {}

  async ingest(
    messages: InboundMessage[],
  ): Promise<{ accepted: number; duplicates: number; deadLettered: number }> {
    const batch = classifyBatch(messages, (type) => this.meters.forType(type));
    const result = await this.dataSource.transaction(async (manager) => {
      const fresh = await this.claim(manager, batch.accepted);
      await this.addToRollups(manager, fresh);
      const deadLettered = await this.deadLetter(manager, batch.deadLetters);
      await enqueueOutbox(manager, METERING_SCHEMA, this.usageRecorded(fresh));
      return {
        accepted: fresh.length,
        duplicates: batch.accepted.length - fresh.length,
        deadLettered,
      };
    });
    eventsCounter.inc({ outcome: 'accepted' }, result.accepted);
    eventsCounter.inc({ outcome: 'duplicate' }, result.duplicates);
    eventsCounter.inc({ outcome: 'dead-lettered' }, result.deadLettered);
    return result;
  }

  /** Inserts dedupe rows; returns the events whose key was not seen before (once each). */
  private async claim(manager: EntityManager, events: MeteredEvent[]): Promise<MeteredEvent[]> {
    if (events.length === 0) return [];
    const rows: { source: string; id: string }[] = await manager.query(
      `INSERT INTO "metering"."events" ("source", "id", "customer_id", "type", "time")
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
       ON CONFLICT DO NOTHING RETURNING "source", "id"`,
      [
        events.map((e) => e.event.source),
        events.map((e) => e.event.id),
        events.map((e) => e.event.subject),
        events.map((e) => e.event.type),
        events.map((e) => e.event.time),
      ],
    );
    const claimed = new Set(rows.map((r) => `${r.source}\u0000${r.id}`));
    const fresh: MeteredEvent[] = [];
    for (const e of events) {
      // delete() makes an in-batch duplicate count once: only its first occurrence is fresh.
      if (claimed.delete(dedupeKey(e.event))) fresh.push(e);
    }
    return fresh;
  }

  private async addToRollups(manager: EntityManager, events: MeteredEvent[]): Promise<void> {
    const buckets = new Map<
      string,
      { customer: string; meter: string; bucket: Date; value: number; count: number }
    >();
    for (const { event, values } of events) {
      const bucket = bucketStart(event.time);
      for (const { meterKey, value } of values) {
        const key = `${event.subject}\u0000${meterKey}\u0000${bucket.toISOString()}`;
        const row = buckets.get(key) ?? {
          customer: event.subject,
          meter: meterKey,
          bucket,
          value: 0,
          count: 0,
        };
        row.value += value;
        row.count += 1;
        buckets.set(key, row);
      }
    }
    if (buckets.size === 0) return;
    // A stable row order keeps two consumers that update the same rollups from deadlocking.
    const rows = [...buckets.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, r]) => r);
    await manager.query(
      `INSERT INTO "metering"."rollups" ("customer_id", "meter_key", "bucket_start", "value", "event_count")
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[])
       ON CONFLICT ("customer_id", "meter_key", "bucket_start") DO UPDATE
         SET "value" = "rollups"."value" + EXCLUDED."value",
             "event_count" = "rollups"."event_count" + EXCLUDED."event_count"`,
      [
        rows.map((r) => r.customer),
        rows.map((r) => r.meter),
        rows.map((r) => r.bucket.toISOString()),
        rows.map((r) => r.value),
        rows.map((r) => r.count),
      ],
    );
  }

  /** Records each dead-lettered offset once and queues the original bytes for the DLQ topic. */
  private async deadLetter(manager: EntityManager, letters: DeadLetter[]): Promise<number> {
    if (letters.length === 0) return 0;
    const identity = (partition: number, offset: string, timestamp: string) =>
      `${partition}:${offset}:${timestamp}`;
    const rows: { partition: number; offset: string; kafka_timestamp: string }[] =
      await manager.query(
        `INSERT INTO "metering"."dead_letters" ("topic", "partition", "offset", "kafka_timestamp", "reason", "detail")
       SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::text[], $6::text[])
       ON CONFLICT DO NOTHING RETURNING "partition", "offset", "kafka_timestamp"`,
        [
          letters.map((l) => l.message.topic),
          letters.map((l) => l.message.partition),
          letters.map((l) => l.message.offset),
          letters.map((l) => l.message.timestamp),
          letters.map((l) => l.reason),
          letters.map((l) => l.detail.slice(0, 2000)),
        ],
      );
    const fresh = new Set(rows.map((r) => identity(r.partition, r.offset, r.kafka_timestamp)));
    const outbox: OutboxMessage[] = letters
      .filter((l) =>
        fresh.has(identity(l.message.partition, l.message.offset, l.message.timestamp)),
      )
      .map((l) => ({
        topic: TOPICS.usageDeadLetter,
        key: l.message.key?.toString() ?? null,
        value: l.message.value ?? Buffer.alloc(0),
        headers: {
          ...l.message.headers,
          [DEAD_LETTER_HEADERS.reason]: l.reason,
          [DEAD_LETTER_HEADERS.detail]: l.detail.slice(0, 2000),
          [DEAD_LETTER_HEADERS.topic]: l.message.topic,
          [DEAD_LETTER_HEADERS.partition]: String(l.message.partition),
          [DEAD_LETTER_HEADERS.offset]: l.message.offset,
        },
      }));
    await enqueueOutbox(manager, METERING_SCHEMA, outbox);
    return outbox.length;
  }

  /** One usage.recorded message per customer and meter of this batch. */
  private usageRecorded(events: MeteredEvent[]): OutboxMessage[] {
    const byCustomerMeter = new Map<string, Recorded>();
    for (const { event, values } of events) {
      for (const { meterKey, value } of values) {
        const key = `${event.subject}\u0000${meterKey}`;
        const r = byCustomerMeter.get(key) ?? {
          customerId: event.subject,
          meterKey,
          quantity: 0,
          leased: new Map<string, number>(),
          first: event.time,
          last: event.time,
        };
        r.quantity += value;
        if (event.leaseid) r.leased.set(event.leaseid, (r.leased.get(event.leaseid) ?? 0) + value);
        if (Date.parse(event.time) < Date.parse(r.first)) r.first = event.time;
        if (Date.parse(event.time) > Date.parse(r.last)) r.last = event.time;
        byCustomerMeter.set(key, r);
      }
    }
    const recordedAt = new Date().toISOString();
    return [...byCustomerMeter.values()]
      .filter((r) => r.quantity > 0)
      .map((r) => {
        const leased: LeasedUsage[] = [...r.leased].map(([leaseId, quantity]) => ({
          leaseId,
          quantity,
        }));
        const message: UsageRecordedEvent = {
          id: randomUUID(),
          customerId: r.customerId,
          meterKey: r.meterKey,
          quantity: r.quantity,
          leased,
          firstEventAt: r.first,
          lastEventAt: r.last,
          recordedAt,
        };
        return { topic: TOPICS.usageRecorded, key: r.customerId, value: JSON.stringify(message) };
      });
  }
}
