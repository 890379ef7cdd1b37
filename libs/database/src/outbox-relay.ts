import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { MessageProducer, createKafka, type OutboundMessage } from '@paygate/messaging';
import { counter, gauge } from '@paygate/observability';
import type { ClientConfig } from 'pg';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { ChannelListener } from './channel-listener';
import { outboxChannel } from './outbox';
import { preparedQuery } from './prepared-query';

const parked = counter(
  'paygate_outbox_parked_total',
  'Outbox messages Kafka refused for what they are, parked instead of blocking the rest',
  ['schema'],
);

const outboxListening = gauge(
  'paygate_outbox_listening',
  '1 while the outbox relay holds a LISTEN connection (rows go out when committed), 0 while it polls',
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

export interface OutboxRelayOptions {
  /** Rows per transaction and Kafka batch; a full batch is followed by the next at once. */
  batchSize: number;
  /** Poll interval while no LISTEN connection tells the relay when rows arrive. */
  pollMs: number;
  /**
   * Poll interval while listening: a safety net for rows no notification announced (a batch
   * another replica's relay held locked when it failed, a connection silently cut).
   */
  quietPollMs: number;
  /**
   * Least time between the end of one drain and a drain a notification asks for: under load,
   * rows committed meanwhile go out together, as many per transaction as when polling.
   */
  gapMs: number;
}

export const DEFAULT_OUTBOX_RELAY_OPTIONS: OutboxRelayOptions = {
  batchSize: 1000,
  pollMs: 50,
  quietPollMs: 1000,
  gapMs: 50,
};

/**
 * Drains the outbox to Kafka in id order. Rows are locked and deleted in one transaction that
 * only commits after Kafka acknowledged them: a crash in between re-sends (at-least-once), and
 * consumers apply each message id once, so the effect is exactly once. A row Kafka refuses for
 * what it is (too large, an impossible topic) would fail every batch it is in forever: the
 * batch is then sent row by row and such a row is parked (`parked_at`, `park_reason`, the
 * `paygate_outbox_parked_total` metric and an error log), so the rows behind it go out.
 *
 * When to drain: every insert into the outbox notifies its channel (a statement trigger,
 * `outboxNotifySql`), and while `listening(true)` the relay drains when `wake()` is called and
 * otherwise only polls every `quietPollMs`; without a listener it polls every `pollMs`. An idle
 * service then runs one query a second instead of twenty, and a row goes out as soon as it
 * is committed instead of up to a poll interval later.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly options: OutboxRelayOptions;
  private timer?: NodeJS.Timeout;
  /** When the scheduled drain is due (ms since epoch); undefined with no drain scheduled. */
  private dueAt?: number;
  private running = false;
  private draining?: Promise<void>;
  /** A wake-up arrived while a drain ran: the rows it announced may have missed that drain. */
  private wokenWhileDraining = false;
  /**
   * The soonest a wake-up may bring the next drain: `gapMs` after the last drain ended, or
   * after a failed one, the end of its back-off.
   */
  private earliestWake = 0;
  private listeningNow = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
    private readonly publisher: OutboxPublisher,
    options: Partial<OutboxRelayOptions> = {},
  ) {
    this.options = { ...DEFAULT_OUTBOX_RELAY_OPTIONS, ...options };
  }

  start(): void {
    this.running = true;
    this.drainAt(Date.now());
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.dueAt = undefined;
    await this.draining;
  }

  /** Rows were committed (a notification): drain soon, at most once per `gapMs`. */
  wake(): void {
    if (this.draining) {
      this.wokenWhileDraining = true;
      return;
    }
    this.drainAt(Math.max(Date.now(), this.earliestWake));
  }

  /**
   * Whether a LISTEN connection will wake the relay. Gaining one drains at once, since rows
   * committed before it listened were announced to no one; losing one goes back to polling.
   */
  listening(listening: boolean): void {
    this.listeningNow = listening;
    if (listening) this.wake();
    else if (!this.draining) this.drainAt(Date.now() + this.options.pollMs);
  }

  /** Publishes up to one batch; returns how many messages went out. */
  async drainOnce(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      // SKIP LOCKED lets several relays (replicas) share the outbox without waiting. Prepared:
      // it runs on every drain and every poll, also when there is nothing to send.
      const rows: OutboxRow[] = await preparedQuery(
        manager,
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
      await preparedQuery(
        manager,
        `DELETE FROM "${this.schema}"."outbox" WHERE "id" = ANY($1::bigint[])`,
        [sent.map((r) => r.id)],
      );
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

  /** Schedules the next drain at `at`, unless one is already due sooner. */
  private drainAt(at: number): void {
    if (!this.running || this.draining) return;
    if (this.dueAt !== undefined && this.dueAt <= at) return;
    clearTimeout(this.timer);
    this.dueAt = at;
    this.timer = setTimeout(() => this.run(), Math.max(0, at - Date.now()));
  }

  private run(): void {
    this.dueAt = undefined;
    this.wokenWhileDraining = false;
    const { batchSize, pollMs, quietPollMs, gapMs } = this.options;
    this.draining = this.drainOnce().then(
      (sent) => {
        const next =
          sent >= batchSize
            ? 0
            : this.wokenWhileDraining
              ? gapMs
              : this.listeningNow
                ? quietPollMs
                : pollMs;
        this.afterDrain(next, gapMs);
      },
      (err: unknown) => {
        this.logger.warn({ err }, 'outbox relay failed; retrying');
        const backoff = Math.max(pollMs, 500);
        this.afterDrain(backoff, backoff);
      },
    );
  }

  /** The next drain in `delayMs`; a wake-up may bring it forward to `wakeAfterMs`. */
  private afterDrain(delayMs: number, wakeAfterMs: number): void {
    this.draining = undefined;
    const now = Date.now();
    this.earliestWake = now + wakeAfterMs;
    this.drainAt(now + delayMs);
  }
}

/**
 * An OutboxRelay with its own idempotent producer and its own LISTEN connection on the
 * outbox's channel, started and stopped with the Nest app. Stopping drains the batch in
 * flight before the producer disconnects.
 */
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly producer: MessageProducer;
  private readonly relay: OutboxRelay;
  private readonly listener: ChannelListener;

  constructor(dataSource: DataSource, schema: string, clientId: string, brokers: string[]) {
    this.producer = new MessageProducer(createKafka(clientId, brokers));
    this.relay = new OutboxRelay(dataSource, schema, this.producer);
    this.listener = new ChannelListener(
      listenerConnection(dataSource, `${clientId}-listen`),
      outboxChannel(schema),
      {
        notified: () => this.relay.wake(),
        listening: (on) => {
          outboxListening.set({ schema }, on ? 1 : 0);
          this.relay.listening(on);
        },
      },
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.producer.connect();
    this.relay.start();
    this.listener.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener.stop();
    await this.relay.stop();
    await this.producer.disconnect();
  }
}

/** The DataSource's own server and credentials, on a connection named for what it does. */
export function listenerConnection(dataSource: DataSource, applicationName: string): ClientConfig {
  const options = dataSource.options as PostgresConnectionOptions;
  return {
    connectionString: options.url,
    host: options.host,
    port: options.port,
    user: options.username,
    password: typeof options.password === 'string' ? options.password : undefined,
    database: options.database,
    ssl: options.ssl as ClientConfig['ssl'],
    application_name: applicationName,
  };
}
