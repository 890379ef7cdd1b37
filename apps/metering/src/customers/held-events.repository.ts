import type { DataSource, EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import { kafkaPositions } from '../usage/kafka-positions';
import type { HeldEvent, HoldReason } from '../usage/usage-batch';
import { pgJsonHeaders, pgText } from '../dead-letters/dead-letter-copy';

/** A held event as releasing it sends it back: to its topic, with its key, bytes and headers. */
export interface ReleasedEvent {
  topic: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/** The SQL of events kept until their meter or customer exists (held_events), and their locks. */
export const heldEvents = {
  /** Takes one hold key's advisory lock, held until the transaction ends. */
  async lock(manager: EntityManager, key: string): Promise<void> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [key]);
  },

  /** Whether any of these event types has a live meter, or any of these customers is known. */
  async anyNowKnown(
    runner: EntityManager | DataSource,
    eventTypes: string[],
    customerIds: string[],
  ): Promise<boolean> {
    const appeared: unknown[] = await runner.query(
      `SELECT 1 FROM ${tables.meters} WHERE "archived_at" IS NULL AND "event_type" = ANY($1)
       UNION ALL SELECT 1 FROM ${tables.known_customers} WHERE "customer_id" = ANY($2)`,
      [eventTypes, customerIds],
    );
    return appeared.length > 0;
  },

  /** Keeps these events (each once, by its Kafka position); returns how many were new. */
  async add(manager: EntityManager, held: HeldEvent[]): Promise<number> {
    if (held.length === 0) return 0;
    const rows: unknown[] = await manager.query(
      `INSERT INTO ${tables.held_events} ("topic", "partition", "offset", "kafka_timestamp",
         "event_type", "key", "value", "headers", "reason", "subject")
       SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::text[],
         $6::text[], $7::bytea[], $8::jsonb[], $9::text[], $10::text[])
       ON CONFLICT DO NOTHING RETURNING 1`,
      [
        ...kafkaPositions(held.map((h) => h.message)),
        held.map((h) => h.eventType),
        held.map((h) => (h.message.key ? pgText(h.message.key.toString()) : null)),
        held.map((h) => h.message.value ?? Buffer.alloc(0)),
        // Recordable whatever a header holds (a NUL stopped the partition for good).
        held.map((h) => pgJsonHeaders(h.message.headers)),
        held.map((h) => h.reason),
        held.map((h) => h.subject),
      ],
    );
    return rows.length;
  },

  /** Deletes the events held for one reason and event type or subject; returns them in order. */
  take(
    manager: EntityManager,
    reason: HoldReason,
    column: 'event_type' | 'subject',
    value: string,
  ): Promise<ReleasedEvent[]> {
    return manager.query(
      `WITH released AS (DELETE FROM ${tables.held_events} WHERE "reason" = $1 AND "${column}" = $2
           RETURNING "topic", "partition", "offset", "key", "value", "headers")
         SELECT "topic", "key", "value", "headers" FROM released ORDER BY "topic", "partition", "offset"`,
      [reason, value],
    );
  },
};
