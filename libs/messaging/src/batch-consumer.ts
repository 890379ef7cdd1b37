import { Logger } from '@nestjs/common';
import type { Consumer, Kafka } from 'kafkajs';

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
 * to dead-letter it) before it resolves: the offset is committed right after.
 */
export type BatchHandler = (messages: InboundMessage[]) => Promise<void>;

export interface BatchConsumerOptions {
  groupId: string;
  topic: string;
  fromBeginning?: boolean;
  maxBytesPerPartition?: number;
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

  constructor(
    kafka: Kafka,
    private readonly options: BatchConsumerOptions,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
  }

  async start(handler: BatchHandler): Promise<void> {
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
        await handler(messages);
        const last = messages[messages.length - 1].offset;
        // Resolving moves kafkajs' fetch position; committing makes it survive a restart.
        resolveOffset(last);
        await this.consumer.commitOffsets([
          {
            topic: batch.topic,
            partition: batch.partition,
            offset: (BigInt(last) + 1n).toString(),
          },
        ]);
        await heartbeat();
      },
    });
    this.logger.log(`consuming ${this.options.topic} as ${this.options.groupId}`);
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}
