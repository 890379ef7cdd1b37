import { Logger } from '@nestjs/common';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import type { OutboundMessage } from './producer';

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
  /** The transactional producer; replaced after a failed transaction (see commitWith). */
  private producer?: Producer;
  private producerConnected = false;
  /** kafkajs runs one transaction at a time per producer; batches take turns for it. */
  private transactions: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: BatchConsumerOptions,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)),
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
  }

  /** Connected transactional producer, made anew after a failure (new epoch, fences the old). */
  private async transactionalProducer(): Promise<Producer> {
    if (!this.producer) {
      this.producer = this.kafka.producer({
        transactionalId: this.options.transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: 30_000,
        retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 5_000 },
      });
      this.producerConnected = false;
    }
    if (!this.producerConnected) {
      await this.producer.connect();
      this.producerConnected = true;
    }
    return this.producer;
  }

  async start(handler: BatchHandler): Promise<void> {
    if (this.options.transactionalId) await this.transactionalProducer();
    await this.consumer.connect();
    await this.consumer.subscribe({
      topic: this.options.topic,
      fromBeginning: this.options.fromBeginning ?? true,
    });
    await this.consumer.run({
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
        const outbound = await handler(messages);
        const last = messages[messages.length - 1].offset;
        const next = {
          topic: batch.topic,
          partition: batch.partition,
          offset: (BigInt(last) + 1n).toString(),
        };
        if (outbound && outbound.length > 0) {
          if (!this.options.transactionalId)
            throw new Error('a handler returned messages but the consumer has no transactionalId');
          await this.commitWith(outbound, next);
        } else {
          await this.consumer.commitOffsets([next]);
        }
        // Resolving moves kafkajs' fetch position; the commit above makes it survive a restart.
        resolveOffset(last);
        await heartbeat();
      },
    });
    this.logger.log(`consuming ${this.options.topic} as ${this.options.groupId}`);
  }

  /** Sends the messages and commits the offset atomically (read_committed readers see both or neither). */
  private commitWith(
    messages: OutboundMessage[],
    next: { topic: string; partition: number; offset: string },
  ): Promise<void> {
    const run = this.transactions.then(async () => {
      const producer = await this.transactionalProducer();
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
        // kafkajs can keep a failed transaction's state (e.g. after a broker restart left it
        // "ongoing"); a new producer with the same transactional id starts clean and makes
        // the coordinator abort whatever the old one left open. The batch is then retried.
        this.logger.warn({ err: (err as Error).message }, 'transaction failed; producer renewed');
        this.producer = undefined;
        this.producerConnected = false;
        await producer.disconnect().catch(() => undefined);
        throw err;
      }
    });
    this.transactions = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    if (this.producerConnected) await this.producer?.disconnect();
  }
}
