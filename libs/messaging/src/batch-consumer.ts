import { Logger } from '@nestjs/common';
import { counter, gauge } from '@paygate/observability';
import type { Admin, Consumer, ConsumerRunConfig, Kafka, Producer } from 'kafkajs';
import { ConsumerProgress, type ProgressSnapshot } from './consumer-progress';
import { DEFAULT_MAX_CHUNK_BYTES } from './outbound-chunks';
import { PartitionTransactions } from './partition-transactions';
import type { InboundMessage, OutboundMessage } from './messages';
import { headersOf } from './message-headers';

const batchFailures = counter(
  'paygate_consumer_batch_failures_total',
  'Batches whose handling or offset commit failed; they are delivered again',
  ['group'],
);
const lagGauge = gauge(
  'paygate_consumer_lag',
  'Messages on the partitions assigned to this instance that it has not applied yet',
  ['group', 'topic'],
);
const oldestGauge = gauge(
  'paygate_consumer_oldest_unapplied_seconds',
  'Age of the oldest message this instance has not applied yet (0 without lag)',
  ['group', 'topic'],
);
const stalledGauge = gauge(
  'paygate_consumer_stalled',
  '1 while a partition of this instance has had lag without progress for the stall time',
  ['group', 'topic'],
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

export type { InboundMessage } from './messages';

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
  /**
   * Default 1 s. It also bounds stop(): kafkajs' disconnect waits for the fetch in flight,
   * which an idle topic's broker holds this long (with kafkajs' 5 s default, every idle
   * consumer made its service's shutdown take 5 s).
   */
  fetchMaxWaitMs?: number;
  /** A partition with lag that has not advanced for this long counts as stalled (default 60 s). */
  stallMs?: number;
  /** How often lag is measured from the broker's offsets (default 5 s). */
  progressPollMs?: number;
  /**
   * Most bytes of handler output sent in one request (default DEFAULT_MAX_CHUNK_BYTES, below
   * the broker's default `message.max.bytes`): larger outputs go in several sends of the same
   * transaction. No single output message may be larger.
   */
  maxChunkBytes?: number;
}

/**
 * Batch consumption with manual commits (ARCHITECTURE.md §5): offsets are committed only after
 * the handler's database transaction committed, as last processed offset + 1 (BigInt, since
 * offsets are int64). A failing handler commits nothing, so the batch is delivered again.
 */
export class BatchConsumer {
  private readonly logger = new Logger(BatchConsumer.name);
  private readonly consumer: Consumer;
  /** Present for consumers with a transactionalIdPrefix. */
  private readonly transactions?: PartitionTransactions;
  private stopping = false;
  private restartTimer?: NodeJS.Timeout;
  private readonly progressTracker: ConsumerProgress;
  /** Per partition, where a group reading from the end started (see startOffset). */
  private readonly endStarts = new Map<number, string>();
  private pollTimer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private admin?: Admin;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: BatchConsumerOptions,
  ) {
    this.progressTracker = new ConsumerProgress(options.stallMs ?? 60_000);
    // Until it joins, from now: a consumer never started is out of its group too.
    this.progressTracker.leftGroup('not joined yet');
    if (options.transactionalIdPrefix) {
      this.transactions = new PartitionTransactions(
        kafka,
        options.groupId,
        options.transactionalIdPrefix,
        options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES,
      );
    }
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      minBytes: options.fetchMinBytes ?? 1,
      maxWaitTimeInMs: options.fetchMaxWaitMs ?? 1_000,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)),
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
  }

  async start(handler: BatchHandler): Promise<void> {
    const transactions = this.transactions;
    this.progressTracker.leftGroup('not joined yet', true);
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.progressTracker.joinedGroup();
      transactions?.assign(payload.memberAssignment);
      this.progressTracker.assign(payload.memberAssignment[this.options.topic] ?? []);
    });
    // Batches of control records or aborted messages only never reach eachBatch; kafkajs
    // moves past them, and so does the lag (else a topic ending in a transaction marker
    // would look behind forever).
    this.consumer.on(this.consumer.events.START_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0 && payload.topic === this.options.topic)
        this.progressTracker.noteApplied(payload.partition, BigInt(payload.lastOffset) + 1n);
    });
    await this.consumer.connect();
    try {
      await this.consumer.subscribe({
        topic: this.options.topic,
        fromBeginning: this.options.fromBeginning ?? true,
      });
    } catch (err) {
      // kafkajs says only "This server does not host this topic-partition" when the topic is
      // missing; a service that exits at start-up on it should say which topic and what to do.
      await this.consumer.disconnect().catch(() => undefined);
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(
        `cannot consume ${this.options.topic} as ${this.options.groupId}: ${reason} (the deployment's topics are created by \`npm run setup\`)`,
        { cause: err },
      );
    }
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      // The error's class only: its text may name the broker's address, and this reason is on
      // the public /ready (the log below has the whole error).
      const error = payload.error;
      const kind = error.name && error.name !== 'Error' ? error.name : error.constructor.name;
      this.progressTracker.leftGroup(`crashed (${kind})`);
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
    this.pollTimer = setInterval(() => {
      this.polling ??= this.pollProgress().finally(() => (this.polling = undefined));
    }, this.options.progressPollMs ?? 5_000);
    this.logger.log(`consuming ${this.options.topic} as ${this.options.groupId}`);
  }

  /** Lag, the oldest unapplied message's age, and the stalled partitions of this instance. */
  progress(): ProgressSnapshot {
    const snapshot: ProgressSnapshot = this.progressTracker.snapshot();
    const labels = { group: this.options.groupId, topic: this.options.topic };
    lagGauge.set(labels, snapshot.lag);
    oldestGauge.set(labels, snapshot.oldestUnappliedMs / 1000);
    stalledGauge.set(labels, snapshot.stalled.length > 0 || snapshot.outOfGroup ? 1 : 0);
    return snapshot;
  }

  /**
   * High watermarks and the group's committed offsets from the broker: what the consumer
   * itself reports stops when it hangs or receives nothing, this does not. A failed query
   * leaves the last figures, so a consumer cut off from its broker stalls in them too.
   */
  private async pollProgress(): Promise<void> {
    const { topic, groupId } = this.options;
    try {
      if (!this.admin) {
        const admin = this.kafka.admin();
        await admin.connect();
        this.admin = admin;
      }
      const [highs, committed] = await Promise.all([
        this.admin.fetchTopicOffsets(topic),
        this.admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      for (const h of highs) {
        const c = committed[0]?.partitions.find((p) => p.partition === h.partition);
        const applied = c && BigInt(c.offset) >= 0n ? c.offset : this.startOffset(h);
        this.progressTracker.noteApplied(h.partition, applied);
        this.progressTracker.noteHigh(h.partition, h.high);
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, group: groupId }, 'lag query failed');
    }
    this.progress();
  }

  /**
   * Where a group that has committed nothing starts: the partition's low watermark, or for a
   * consumer that reads from the end (fromBeginning false: a gateway's changes, whose group is
   * new on every host) the high watermark when first seen; what was on the topic before is not
   * its to apply (it showed as lag, and a new gateway as stalled, until a change came).
   */
  private startOffset(h: { partition: number; low: string; high: string }): string {
    if (this.options.fromBeginning ?? true) return h.low;
    const first = this.endStarts.get(h.partition) ?? h.high;
    this.endStarts.set(h.partition, first);
    return first;
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
        const messages: InboundMessage[] = batch.messages.map((m) => {
          const { headers, undecodable } = headersOf(m.headers);
          return {
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key,
            value: m.value,
            headers,
            ...(undecodable.length > 0 ? { undecodableHeaders: undecodable } : {}),
            timestamp: m.timestamp,
          };
        });
        const last = messages[messages.length - 1].offset;
        this.progressTracker.noteHigh(batch.partition, batch.highWatermark);
        this.progressTracker.noteAttempt(
          batch.partition,
          messages[0].offset,
          Number(messages[0].timestamp),
        );
        const transactions = this.transactions;
        let producer: Producer | undefined;
        this.progressTracker.batchStarted(batch.partition);
        try {
          producer = await transactions?.acquire(batch.topic, batch.partition);
          const pending = transactions
            ? await transactions.notYetCommitted(messages, batch.highWatermark)
            : messages;
          const next = {
            topic: batch.topic,
            partition: batch.partition,
            offset: (BigInt(last) + 1n).toString(),
          };
          // Everything was committed already: committing this batch's end would move the
          // group's offset back below what a transaction committed.
          if (pending.length > 0) {
            const outbound = await handler(pending);
            if (outbound && outbound.length > 0) {
              if (!transactions || !producer)
                throw new Error(
                  'a handler returned messages but the consumer has no transactionalIdPrefix',
                );
              await transactions.commitWith(producer, outbound, next);
            } else {
              await this.consumer.commitOffsets([next]);
              transactions?.noteCommitted(next.topic, next.partition, next.offset);
            }
          }
        } catch (err) {
          batchFailures.inc({ group: this.options.groupId });
          throw asRetriable(err);
        } finally {
          this.progressTracker.batchEnded(batch.partition);
          if (producer) transactions?.release(batch.topic, batch.partition, producer);
        }
        // Resolving moves kafkajs' fetch position; the commit above makes it survive a restart.
        resolveOffset(last);
        this.progressTracker.noteApplied(batch.partition, BigInt(last) + 1n);
        await heartbeat();
      },
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.progressTracker.leftGroup('stopped');
    clearTimeout(this.restartTimer);
    clearInterval(this.pollTimer);
    await this.polling;
    await this.admin?.disconnect().catch(() => undefined);
    await this.consumer.disconnect();
    await this.transactions?.stop();
  }
}
