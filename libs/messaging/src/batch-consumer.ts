import { Logger } from '@nestjs/common';
import { counter } from '@paygate/observability';
import type { Admin, Consumer, ConsumerRunConfig, Kafka, Producer } from 'kafkajs';
import type { OutboundMessage } from './producer';

const batchFailures = counter(
  'paygate_consumer_batch_failures_total',
  'Batches whose handling or offset commit failed; they are delivered again',
  ['group'],
);
const consumerCrashes = counter(
  'paygate_consumer_crashes_total',
  'Times the Kafka client stopped a consumer; it is restarted',
  ['group'],
);

/**
 * kafkajs retries a failed batch only if the error looks retriable; anything else (a
 * TypeError, a fenced or exhausted producer after a broker restart) stops the consumer for
 * good while the process keeps running. A failed batch is always worth retrying: nothing of
 * it was committed.
 */
class BatchFailedError extends Error {
  readonly retriable = true;
  constructor(reason: unknown) {
    super(`batch failed: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = 'BatchFailedError';
  }
}

const UNRECOVERABLE_FOR_KAFKAJS = ['RangeError', 'ReferenceError', 'SyntaxError', 'TypeError'];
/** Errors kafkajs answers by rejoining the group: they must reach it unchanged. */
const REJOIN_TYPES = [
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
];

/** The error as kafkajs should see it: as is when it retries it (or rejoins a rebalancing group). */
function asRetriable(err: unknown): unknown {
  const e = err as { name?: string; retriable?: boolean; type?: string } | undefined;
  const retriedAnyway =
    REJOIN_TYPES.includes(e?.type ?? '') ||
    (e?.retriable !== false && !UNRECOVERABLE_FOR_KAFKAJS.includes(e?.name ?? ''));
  return err instanceof Error && retriedAnyway ? err : new BatchFailedError(err);
}

/**
 * Longest a transaction (or the producer's connect) may take: kafkajs' own retries give up
 * well within it, so only a call that would never return reaches it.
 */
const TRANSACTION_DEADLINE_MS = 60_000;

/** Rejects if `work` has not settled in `ms`: a hung client call must not hold every partition. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface InboundMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

/**
 * Handles one batch of one partition. It must have durably applied every message (or decided
 * to dead-letter it) before it resolves: the offset is committed right after. Messages it
 * returns are published in one Kafka transaction with that offset commit (consumers with a
 * transactionalId), so they appear exactly once however often the batch is redelivered.
 */
export type BatchHandler = (messages: InboundMessage[]) => Promise<void | OutboundMessage[]>;

export interface BatchConsumerOptions {
  groupId: string;
  topic: string;
  fromBeginning?: boolean;
  maxBytesPerPartition?: number;
  /**
   * How long the group waits for a silent member before giving its partitions to others: the
   * pause a crashed instance causes (kafkajs has no static membership to shorten a restart).
   */
  sessionTimeoutMs?: number;
  /**
   * Makes the consumer transactional: messages returned by the handler are sent in a Kafka
   * transaction together with the batch's offset commit. Keep it stable per instance (a
   * restarted instance fences its dead predecessor's open transaction at once).
   */
  transactionalId?: string;
  /** Batches of different partitions handled at once; one partition is always in order. */
  partitionsConsumedConcurrently?: number;
  /**
   * Batch gathering (Kafka's fetch.min.bytes / fetch.max.wait.ms): the broker holds a fetch
   * until this many bytes are waiting or `fetchMaxWaitMs` has passed. A batch costs a database
   * and a Kafka transaction whatever its size, so at moderate rates larger batches cut the cost
   * per message several times over, for at most `fetchMaxWaitMs` of added latency.
   * Default 1 byte: no gathering.
   */
  fetchMinBytes?: number;
  fetchMaxWaitMs?: number;
}

function headersOf(raw: Record<string, unknown> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
  }
  return headers;
}

/**
 * Batch consumption with manual commits (ARCHITECTURE.md §5): offsets are committed only after
 * the handler's database transaction committed, as last processed offset + 1 (BigInt, since
 * offsets are int64). A failing handler commits nothing, so the batch is delivered again.
 */
export class BatchConsumer {
  private readonly logger = new Logger(BatchConsumer.name);
  private readonly consumer: Consumer;
  /** The connected transactional producer; replaced after a failed transaction (see commitWith). */
  private producer?: Producer;
  /** kafkajs runs one transaction at a time per producer; batches take turns for it. */
  private transactions: Promise<unknown> = Promise.resolve();
  private stopping = false;
  /**
   * Partitions whose last transaction failed on the client: the broker may still have
   * committed it (e.g. the client lost the answer in a broker restart).
   */
  private readonly doubtful = new Set<string>();
  private admin?: Admin;
  private restartTimer?: NodeJS.Timeout;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: BatchConsumerOptions,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      minBytes: options.fetchMinBytes ?? 1,
      maxWaitTimeInMs: options.fetchMaxWaitMs ?? 5_000,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)),
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
  }

  /** Connected transactional producer, made anew after a failure (new epoch, fences the old). */
  private async transactionalProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.kafka.producer({
      transactionalId: this.options.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 30_000,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
    try {
      await within(TRANSACTION_DEADLINE_MS, 'producer connect', producer.connect());
    } catch (err) {
      void producer.disconnect().catch(() => undefined);
      throw err;
    }
    this.producer = producer;
    return producer;
  }

  async start(handler: BatchHandler): Promise<void> {
    if (this.options.transactionalId) await this.transactionalProducer();
    await this.consumer.connect();
    await this.consumer.subscribe({
      topic: this.options.topic,
      fromBeginning: this.options.fromBeginning ?? true,
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      consumerCrashes.inc({ group: this.options.groupId });
      this.logger.error(
        { err: payload.error.message, restart: payload.restart, group: this.options.groupId },
        'consumer crashed',
      );
      // kafkajs restarts only after retriable errors; any other crash would leave this
      // instance silently consuming nothing, so it is restarted here.
      if (!payload.restart) this.restartLater(handler);
    });
    await this.consumer.run(this.runConfig(handler));
    this.logger.log(`consuming ${this.options.topic} as ${this.options.groupId}`);
  }

  private restartLater(handler: BatchHandler): void {
    if (this.stopping) return;
    this.restartTimer = setTimeout(() => {
      this.consumer
        .connect()
        .then(() => this.consumer.run(this.runConfig(handler)))
        .then(() => this.logger.warn({ group: this.options.groupId }, 'consumer restarted'))
        .catch((err: Error) => {
          this.logger.error({ err: err.message }, 'consumer restart failed; trying again');
          this.restartLater(handler);
        });
    }, 2_000);
  }

  private runConfig(handler: BatchHandler): ConsumerRunConfig {
    return {
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const messages: InboundMessage[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          headers: headersOf(m.headers as Record<string, unknown> | undefined),
          timestamp: m.timestamp,
        }));
        const last = messages[messages.length - 1].offset;
        try {
          const pending = await this.notYetCommitted(messages);
          const outbound = pending.length > 0 ? await handler(pending) : undefined;
          const next = {
            topic: batch.topic,
            partition: batch.partition,
            offset: (BigInt(last) + 1n).toString(),
          };
          if (outbound && outbound.length > 0) {
            if (!this.options.transactionalId)
              throw new Error(
                'a handler returned messages but the consumer has no transactionalId',
              );
            await this.commitWith(outbound, next);
          } else {
            await this.consumer.commitOffsets([next]);
          }
        } catch (err) {
          batchFailures.inc({ group: this.options.groupId });
          throw asRetriable(err);
        }
        // Resolving moves kafkajs' fetch position; the commit above makes it survive a restart.
        resolveOffset(last);
        await heartbeat();
      },
    };
  }

  /**
   * The messages a batch still has to apply. After a doubtful transaction the group's committed
   * offset tells whether it committed (its dead letters are then on their topic already), so
   * the retry re-sends nothing that is already there. It is read after the producer was
   * renewed: the new epoch is granted only once the old transaction is complete.
   */
  private async notYetCommitted(messages: InboundMessage[]): Promise<InboundMessage[]> {
    const { topic, partition } = messages[0];
    const key = `${topic}:${partition}`;
    if (!this.doubtful.has(key)) return messages;
    const check = this.transactions.then(() =>
      within(
        TRANSACTION_DEADLINE_MS,
        'committed offset check',
        this.committedOffset(topic, partition),
      ),
    );
    this.transactions = check.catch(() => undefined);
    const committed = await check;
    this.doubtful.delete(key);
    const pending = messages.filter((m) => BigInt(m.offset) >= committed);
    this.logger.warn(
      {
        topic,
        partition,
        committed: committed.toString(),
        skipped: messages.length - pending.length,
      },
      'checked the outcome of a failed transaction',
    );
    return pending;
  }

  private async committedOffset(topic: string, partition: number): Promise<bigint> {
    await this.transactionalProducer();
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const [offsets] = await this.admin.fetchOffsets({
      groupId: this.options.groupId,
      topics: [topic],
    });
    const found = offsets?.partitions.find((p) => p.partition === partition);
    return found ? BigInt(found.offset) : -1n;
  }

  /** Sends the messages and commits the offset atomically (read_committed readers see both or neither). */
  private commitWith(
    messages: OutboundMessage[],
    next: { topic: string; partition: number; offset: string },
  ): Promise<void> {
    const run = this.transactions.then(async () => {
      const producer = await this.transactionalProducer();
      try {
        await within(
          TRANSACTION_DEADLINE_MS,
          'transaction',
          this.transact(producer, messages, next),
        );
      } catch (err) {
        // kafkajs can keep a failed transaction's state (e.g. after a broker restart left it
        // "ongoing", or a call that never returns); a new producer with the same transactional
        // id starts clean, fences this one and makes the coordinator abort whatever it left
        // open. The batch is then retried.
        this.logger.warn({ err: (err as Error).message }, 'transaction failed; producer renewed');
        this.doubtful.add(`${next.topic}:${next.partition}`);
        if (this.producer === producer) this.producer = undefined;
        void producer.disconnect().catch(() => undefined);
        throw err;
      }
    });
    this.transactions = run.catch(() => undefined);
    return run;
  }

  private async transact(
    producer: Producer,
    messages: OutboundMessage[],
    next: { topic: string; partition: number; offset: string },
  ): Promise<void> {
    const transaction = await producer.transaction();
    try {
      const byTopic = new Map<string, OutboundMessage[]>();
      for (const m of messages) {
        const list = byTopic.get(m.topic) ?? [];
        list.push(m);
        byTopic.set(m.topic, list);
      }
      for (const [topic, list] of byTopic) {
        await transaction.send({
          topic,
          acks: -1,
          messages: list.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
        });
      }
      await transaction.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [
          { topic: next.topic, partitions: [{ partition: next.partition, offset: next.offset }] },
        ],
      });
      await transaction.commit();
    } catch (err) {
      await transaction.abort().catch(() => undefined);
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.consumer.disconnect();
    await this.producer?.disconnect();
    await this.admin?.disconnect();
  }
}
