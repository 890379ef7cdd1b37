import type { EntityManager } from 'typeorm';
import { preparedQuery } from './prepared-query';

/**
 * Transactional outbox (ARCHITECTURE.md §5): a message is written in the same transaction as
 * the change it announces, and a relay publishes it afterwards. The table lives in the
 * owning service's schema; its DDL is shared so every service's migration creates the same one.
 */
export function outboxTableSql(schema: string): string {
  return `CREATE TABLE "${schema}"."outbox" (
    "id" bigserial PRIMARY KEY,
    "topic" text NOT NULL,
    "key" text,
    "value" bytea NOT NULL,
    "headers" jsonb NOT NULL DEFAULT '{}'::jsonb,
    "created_at" timestamptz NOT NULL DEFAULT now()
  )`;
}

/** The channel every insert into a schema's outbox notifies (the relay LISTENs on it). */
export function outboxChannel(schema: string): string {
  return `${schema}_outbox`;
}

/**
 * A statement trigger that notifies the outbox's channel on every insert, so the relay drains
 * when rows are committed instead of polling (Postgres delivers a NOTIFY at commit, once per
 * transaction and channel however many rows or statements it has). Shared so every service's
 * migration installs the same one.
 */
export function outboxNotifySql(schema: string): string[] {
  return [
    `CREATE FUNCTION "${schema}"."outbox_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN PERFORM pg_notify('${outboxChannel(schema)}', ''); RETURN NULL; END $$`,
    `CREATE TRIGGER "outbox_notify" AFTER INSERT ON "${schema}"."outbox"
     FOR EACH STATEMENT EXECUTE FUNCTION "${schema}"."outbox_notify"()`,
  ];
}

export function dropOutboxNotifySql(schema: string): string[] {
  return [
    `DROP TRIGGER IF EXISTS "outbox_notify" ON "${schema}"."outbox"`,
    `DROP FUNCTION IF EXISTS "${schema}"."outbox_notify"()`,
  ];
}

export interface OutboxMessage {
  topic: string;
  key: string | null;
  value: Buffer | string;
  headers?: Record<string, string>;
}

/** Queues messages in one statement (arrays, so a batch of any size is one round trip). */
export async function enqueueOutbox(
  manager: EntityManager,
  schema: string,
  messages: OutboxMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  // Prepared: once per transaction that writes events (a metering batch, most admin writes).
  await preparedQuery(
    manager,
    `INSERT INTO "${schema}"."outbox" ("topic", "key", "value", "headers")
     SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[])`,
    [
      messages.map((m) => m.topic),
      messages.map((m) => m.key),
      messages.map((m) => (Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value))),
      messages.map((m) => JSON.stringify(m.headers ?? {})),
    ],
  );
}
