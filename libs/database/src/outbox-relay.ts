import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { MessageProducer, createKafka, type OutboundMessage } from '@paygate/messaging';
import { counter } from '@paygate/observability';

const parked = counter(
  'paygate_outbox_parked_total',
  'Outbox messages Kafka refused for what they are, parked instead of blocking the rest',
  ['schema'],
);

/** Kafka errors about a message itself: sending it again can never succeed. */
const REFUSED_FOR_CONTENT = [
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
];

export function refusedForContent(err: unknown): boolean {
  for (let e = err as { name?: string; type?: string; cause?: unknown } | undefined; e;) {
    if (e.name === 'OutboundTooLargeError' || REFUSED_FOR_CONTENT.includes(e.type ?? ''))
      return true;
    e = e.cause as typeof e;
  }
  return false;
}

export interface OutboxPublisher {
  sendBatch(messages: OutboundMessage[]): Promise<void>;
}

interface OutboxRow {
  id: string;
  topic: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Drains the outbox to Kafka in id order. Rows are locked and deleted in one transaction that
 * only commits after Kafka acknowledged them: a crash in between re-sends (at-least-once), and
 * consumers apply each message id once, so the effect is exactly once. A row Kafka refuses for
 * what it is (too large, an impossible topic) would fail every batch it is in forever: the
 * batch is then sent row by row and such a row is parked (`parked_at`, `park_reason`, the
 * `paygate_outbox_parked_total` metric and an error log), so the rows behind it go out.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private timer?: NodeJS.Timeout;
  private running = false;
  private draining?: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
    private readonly publisher: OutboxPublisher,
    private readonly options: { intervalMs: number; batchSize: number } = {
      intervalMs: 50,
      batchSize: 1000,
    },
  ) {}

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.draining;
  }

  /** Publishes up to one batch; returns how many messages went out. */
  async drainOnce(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      // SKIP LOCKED lets several relays (replicas) share the outbox without waiting.
      const rows: OutboxRow[] = await manager.query(
        `SELECT "id", "topic", "key", "value", "headers" FROM "${this.schema}"."outbox"
         WHERE "parked_at" IS NULL ORDER BY "id" LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.options.batchSize],
      );
      if (rows.length === 0) return 0;
      const message = (r: OutboxRow): OutboundMessage => ({
        topic: r.topic,
        key: r.key,
        value: r.value,
        headers: r.headers,
      });
      let sent = rows;
      try {
        await this.publisher.sendBatch(rows.map(message));
      } catch (err) {
        if (!refusedForContent(err)) throw err;
        sent = [];
        for (const row of rows) {
          try {
            await this.publisher.sendBatch([message(row)]);
            sent.push(row);
          } catch (rowErr) {
            if (!refusedForContent(rowErr)) throw rowErr;
            await this.park(manager, row, rowErr);
          }
        }
      }
      await manager.query(`DELETE FROM "${this.schema}"."outbox" WHERE "id" = ANY($1::bigint[])`, [
        sent.map((r) => r.id),
      ]);
      return rows.length;
    });
  }

  private async park(manager: EntityManager, row: OutboxRow, err: unknown): Promise<void> {
    const reason = String((err as Error)?.message ?? err).slice(0, 500);
    await manager.query(
      `UPDATE "${this.schema}"."outbox" SET "parked_at" = now(), "park_reason" = $2 WHERE "id" = $1`,
      [row.id, reason],
    );
    parked.inc({ schema: this.schema });
    this.logger.error(
      { id: row.id, topic: row.topic, bytes: row.value.length, reason },
      'outbox message refused by Kafka for what it is; parked',
    );
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.draining = this.drainOnce()
        .then((sent) => this.schedule(sent >= this.options.batchSize ? 0 : this.options.intervalMs))
        .catch((err: unknown) => {
          this.logger.warn({ err }, 'outbox relay failed; retrying');
          this.schedule(Math.max(this.options.intervalMs, 500));
        });
    }, delayMs);
  }
}

/**
 * An OutboxRelay with its own idempotent producer, started and stopped with the Nest app.
 * Stopping drains the batch in flight before the producer disconnects.
 */
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly producer: MessageProducer;
  private readonly relay: OutboxRelay;

  constructor(dataSource: DataSource, schema: string, clientId: string, brokers: string[]) {
    this.producer = new MessageProducer(createKafka(clientId, brokers));
    this.relay = new OutboxRelay(dataSource, schema, this.producer);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.producer.connect();
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
    await this.producer.disconnect();
  }
}
