import type { EntityManager } from 'typeorm';

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

export interface OutboxMessage {
  topic: string;
  key: string | null;
  value: Buffer | string;
  headers?: Record<string, string>;
}

export async function enqueueOutbox(
  manager: EntityManager,
  schema: string,
  messages: OutboxMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  const params: unknown[] = [];
  const rows = messages.map((m, i) => {
    params.push(
      m.topic,
      m.key,
      Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value),
      JSON.stringify(m.headers ?? {}),
    );
    const b = i * 4;
    return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}::jsonb)`;
  });
  await manager.query(
    `INSERT INTO "${schema}"."outbox" ("topic", "key", "value", "headers") VALUES ${rows.join(', ')}`,
    params,
  );
}
