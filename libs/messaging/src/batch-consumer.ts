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
 * transactionalIdPrefix), so they appear exactly once however often the batch is redelivered.
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
   * transaction together with the batch's offset commit, by one producer per input partition
   * with the transactional id `<prefix>.<topic>.<partition>`, the same on every instance of
   * the group (see transactionalIdOf). Use one prefix per consumer group.
   */
  transactionalIdPrefix?: string;
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
  /**
   * The connected transactional producer of each input partition this instance consumed
   * (`topic:partition`); replaced after a failed transaction (see commitWith), dropped when
   * the partition goes to another member.
   */
  private readonly producers = new Map<string, Producer>();
  /** Producers a running batch uses: disconnected only once it is done (see eachBatch). */
  private readonly inUse = new Set<Producer>();
  private stopping = false;
  /**
   * Partitions whose committed offset must be read before their next batch: their producer is
   * new (a previous owner's transaction may have committed after kafkajs fetched the offset),
   * or their last transaction failed on the client (the broker may still have committed it,
   * e.g. when the client lost the answer in a broker restart).
   */
  private readonly doubtful = new Set<string>();
  private admin?: Promise<Admin>;
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

  /**
   * The partition's connected transactional producer. Making one fences every earlier producer
   * of the same id, on any instance, and the broker grants it only once the transaction such a
   * producer left is complete (committed or aborted): afterwards the group's committed offset
   * is final, so the partition is marked for a read of it before its next batch.
   */
  private async transactionalProducer(
    prefix: string,
    topic: string,
    partition: number,
  ): Promise<Producer> {
    const key = `${topic}:${partition}`;
    const held = this.producers.get(key);
    if (held) return held;
    const producer = this.kafka.producer({
      transactionalId: transactionalIdOf(prefix, topic, partition),
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
    this.producers.set(key, producer);
    this.doubtful.add(key);
    this.logger.log({ topic, partition }, 'transactional producer of the partition ready');
    return producer;
  }

  /** Producers of partitions this member no longer has: another member fences them anyway. */
  private dropProducersNotIn(assignment: Record<string, number[]>): void {
    const assigned = new Set(
      Object.entries(assignment).flatMap(([topic, partitions]) =>
        partitions.map((p) => `${topic}:${p}`),
      ),
    );
    for (const [key, producer] of this.producers) {
      if (assigned.has(key)) continue;
      this.producers.delete(key);
      this.doubtful.delete(key);
      if (!this.inUse.has(producer)) void producer.disconnect().catch(() => undefined);
    }
  }

  async start(handler: BatchHandler): Promise<void> {
    if (this.options.transactionalIdPrefix) {
      this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) =>
        this.dropProducersNotIn(payload.memberAssignment),
      );
    }
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
        const key = `${batch.topic}:${batch.partition}`;
        let producer: Producer | undefined;
        try {
          // The batch keeps the producer it checked the committed offset with: a producer made
          // later (after a rebalance dropped this one) would need that check again.
          producer = await this.partitionProducer(batch.topic, batch.partition);
          if (producer) this.inUse.add(producer);
          const pending = await this.notYetCommitted(messages);
          const outbound = pending.length > 0 ? await handler(pending) : undefined;
          const next = {
            topic: batch.topic,
            partition: batch.partition,
            offset: (BigInt(last) + 1n).toString(),
          };
          if (outbound && outbound.length > 0) {
            if (!producer)
              throw new Error(
                'a handler returned messages but the consumer has no transactionalIdPrefix',
              );
            await this.commitWith(producer, outbound, next);
          } else {
            await this.consumer.commitOffsets([next]);
          }
        } catch (err) {
          batchFailures.inc({ group: this.options.groupId });
          throw asRetriable(err);
        } finally {
          if (producer) {
            this.inUse.delete(producer);
            // Dropped meanwhile (partition revoked, or renewed after a failure).
            if (this.producers.get(key) !== producer)
              void producer.disconnect().catch(() => undefined);
          }
        }
        // Resolving moves kafkajs' fetch position; the commit above makes it survive a restart.
        resolveOffset(last);
        await heartbeat();
      },
    };
  }

  /**
   * The messages a batch still has to apply. For a partition this instance has just taken, or
   * after a doubtful transaction, the group's committed offset tells what a transaction
   * committed meanwhile (its dead letters are then on their topic already), so nothing that is
   * there is sent again. It is read after the partition's producer was made: the broker grants
   * a new producer only once the transaction its predecessor left is complete.
   */
  private async notYetCommitted(messages: InboundMessage[]): Promise<InboundMessage[]> {
    const { topic, partition } = messages[0];
    const key = `${topic}:${partition}`;
    if (!this.doubtful.has(key)) return messages;
    const committed = await within(
      TRANSACTION_DEADLINE_MS,
      'committed offset check',
      this.committedOffset(topic, partition),
    );
    this.doubtful.delete(key);
    const pending = messages.filter((m) => BigInt(m.offset) >= committed);
    if (pending.length < messages.length) {
      this.logger.warn(
        {
          topic,
          partition,
          committed: committed.toString(),
          skipped: messages.length - pending.length,
        },
        'skipped messages a completed transaction had committed',
      );
    }
    return pending;
  }

  private async committedOffset(topic: string, partition: number): Promise<bigint> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      this.admin = admin.connect().then(
        () => admin,
        (err: unknown) => {
          this.admin = undefined;
          throw err;
        },
      );
    }
    const admin = await this.admin;
    const [offsets] = await admin.fetchOffsets({
      groupId: this.options.groupId,
      topics: [topic],
    });
    const found = offsets?.partitions.find((p) => p.partition === partition);
    return found ? BigInt(found.offset) : -1n;
  }

  /** The partition's transactional producer, if the consumer is transactional. */
  private partitionProducer(topic: string, partition: number): Promise<Producer | undefined> {
    const prefix = this.options.transactionalIdPrefix;
    return prefix
      ? this.transactionalProducer(prefix, topic, partition)
      : Promise.resolve(undefined);
  }

  /** Sends the messages and commits the offset atomically (read_committed readers see both or neither). */
  private async commitWith(
    producer: Producer,
    messages: OutboundMessage[],
    next: { topic: string; partition: number; offset: string },
  ): Promise<void> {
    const key = `${next.topic}:${next.partition}`;
    try {
      await within(TRANSACTION_DEADLINE_MS, 'transaction', this.transact(producer, messages, next));
    } catch (err) {
      // kafkajs can keep a failed transaction's state (e.g. after a broker restart left it
      // "ongoing", or a call that never returns), and a producer fenced by the partition's new
      // owner stays fenced; a new producer with the same transactional id starts clean, fences
      // this one and makes the coordinator complete whatever it left open. The batch is then
      // retried from the committed offset.
      this.logger.warn({ err: (err as Error).message }, 'transaction failed; producer renewed');
      if (this.producers.get(key) === producer) this.producers.delete(key);
      this.doubtful.add(key);
      throw err;
    }
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
    await Promise.all([...this.producers.values()].map((p) => p.disconnect()));
    this.producers.clear();
    await (await this.admin?.catch(() => undefined))?.disconnect();
  }
}

/**
 * One transactional id per input partition, the same on every member of the group (Kafka's
 * exactly-once design before KIP-447, which kafkajs does not implement): whoever consumes the
 * partition next fences whoever consumed it before, even an instance that still believes it
 * owns the partition, and waits for the transaction that one left open to complete. kafkajs
 * cannot ask for stable offsets (KIP-447's require_stable), so this is what keeps a
 * transaction that commits during a rebalance from having its batch applied, and its dead
 * letters sent, a second time.
 */
export function transactionalIdOf(prefix: string, topic: string, partition: number): string {
  return `${prefix}.${topic}.${partition}`;
}
