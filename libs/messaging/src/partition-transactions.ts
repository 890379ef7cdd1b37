import { Logger } from '@nestjs/common';
import { within } from '@paygate/observability';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { chunkBySize } from './outbound-chunks';
import type { InboundMessage, OutboundMessage } from './messages';

/**
 * Longest a transaction (or the producer's connect) may take: kafkajs' own retries give up
 * well within it, so only a call that would never return reaches it.
 */
const TRANSACTION_DEADLINE_MS = 60_000;

/** `work`, or a failure past the deadline: a hung client call must not hold every partition. */
function withinDeadline<T>(what: string, work: Promise<T>): Promise<T> {
  return within(
    TRANSACTION_DEADLINE_MS,
    work,
    () => new Error(`${what} did not finish in ${TRANSACTION_DEADLINE_MS} ms`),
  );
}

/**
 * The transactional side of a BatchConsumer: one producer per input partition (see
 * transactionalIdOf), the committed-offset check after a producer is made or a transaction
 * failed, and the transaction that publishes a batch's messages with its offset commit.
 */
export class PartitionTransactions {
  private readonly logger = new Logger(PartitionTransactions.name);
  /**
   * The connected transactional producer of each input partition this instance consumed
   * (`topic:partition`); replaced after a failed transaction (see commitWith), dropped when
   * the partition goes to another member.
   */
  private readonly producers = new Map<string, Producer>();
  /** Producers a running batch uses: disconnected only once it is done (see release). */
  private readonly inUse = new Set<Producer>();
  /**
   * Partitions whose committed offset must be read before their next batch: their producer is
   * new (a previous owner's transaction may have committed after kafkajs fetched the offset),
   * or their last transaction failed on the client (the broker may still have committed it,
   * e.g. when the client lost the answer in a broker restart).
   */
  private readonly doubtful = new Set<string>();
  private admin?: Promise<Admin>;
  /** The partitions of this member's current assignment (`topic:partition`), from assign(). */
  private assigned = new Set<string>();
  /**
   * Per partition, the offset below which everything is known committed: what this member's
   * own commits reached, or what the committed-offset check read. kafkajs may fetch from
   * below it for a long while (after a rebalance it starts from the group's committed offset,
   * which lags a transaction whose markers the broker has not written yet, and over a broker
   * restart that lag was seen at 10,000 messages), and every such batch, not only the first
   * one after a check, must be skipped: applying it again would send its dead letters again.
   */
  private readonly floors = new Map<string, bigint>();

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly prefix: string,
    private readonly maxChunkBytes: number,
  ) {}

  /**
   * The partition's producer for one batch, which keeps it to the end: a producer made later
   * (after a rebalance dropped this one) would need the committed-offset check again.
   */
  async acquire(topic: string, partition: number): Promise<Producer> {
    // A batch kafkajs fetched before a rebalance may still run after it: its producer would
    // fence the partition's new owner, and a transactional offset commit carries no group
    // generation to stop it.
    if (!this.assigned.has(`${topic}:${partition}`))
      throw new Error(`${topic}:${partition} is no longer assigned to this member`);
    const producer = await this.producerOf(topic, partition);
    this.inUse.add(producer);
    return producer;
  }

  /** The batch is done with it; disconnected if it was dropped or renewed meanwhile. */
  release(topic: string, partition: number, producer: Producer): void {
    this.inUse.delete(producer);
    if (this.producers.get(`${topic}:${partition}`) !== producer)
      void producer.disconnect().catch(() => undefined);
  }

  /**
   * The partition's connected transactional producer. Making one fences every earlier producer
   * of the same id, on any instance, and the broker grants it only once the transaction such a
   * producer left is complete (committed or aborted): afterwards the group's committed offset
   * is final, so the partition is marked for a read of it before its next batch.
   */
  private async producerOf(topic: string, partition: number): Promise<Producer> {
    const key = `${topic}:${partition}`;
    const held = this.producers.get(key);
    if (held) return held;
    const producer = this.kafka.producer({
      transactionalId: transactionalIdOf(this.prefix, topic, partition),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 30_000,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
    try {
      await withinDeadline('producer connect', this.initialise(producer));
    } catch (err) {
      void producer.disconnect().catch(() => undefined);
      throw err;
    }
    this.producers.set(key, producer);
    this.doubtful.add(key);
    this.logger.log({ topic, partition }, 'transactional producer of the partition ready');
    return producer;
  }

  /**
   * Connects the producer and registers its transactional id with the coordinator, which is
   * what fences the id's earlier producers and waits for the transaction they left. kafkajs'
   * connect() does not do that (it asks for an idempotent producer id without the
   * transactional id); its first transaction() does, so an empty one is begun and aborted
   * (the abort itself sends nothing).
   */
  private async initialise(producer: Producer): Promise<void> {
    await producer.connect();
    const registration = await producer.transaction();
    await registration.abort();
  }

  /**
   * The member's new assignment (each group join): producers of partitions it no longer has
   * are dropped (another member fences them anyway), and no new one is made for them.
   */
  assign(assignment: Record<string, number[]>): void {
    const assigned = new Set(
      Object.entries(assignment).flatMap(([topic, partitions]) =>
        partitions.map((p) => `${topic}:${p}`),
      ),
    );
    this.assigned = assigned;
    for (const key of this.floors.keys()) if (!assigned.has(key)) this.floors.delete(key);
    for (const [key, producer] of this.producers) {
      if (assigned.has(key)) continue;
      this.producers.delete(key);
      this.doubtful.delete(key);
      if (!this.inUse.has(producer)) void producer.disconnect().catch(() => undefined);
    }
  }

  /**
   * The messages a batch still has to apply: those at or above the partition's floor (see
   * floors). For a partition this instance has just taken, or after a doubtful transaction,
   * the group's committed offset raises the floor to what a transaction committed meanwhile
   * (its dead letters are then on their topic already), so nothing that is there is sent
   * again. It is read after the partition's producer was made: the broker grants a new
   * producer only once the transaction its predecessor left is complete.
   */
  async notYetCommitted(
    messages: InboundMessage[],
    highWatermark?: string,
  ): Promise<InboundMessage[]> {
    const { topic, partition } = messages[0];
    const key = `${topic}:${partition}`;
    const known = this.floors.get(key);
    if (known !== undefined && highWatermark !== undefined && BigInt(highWatermark) < known) {
      // The log ends below what was committed: it started over (the topic was recreated, or
      // an unclean leader election cut it). The floor (and the group's offset) say nothing
      // about these new messages: nothing is skipped rather than usage lost (the database
      // dedupes what is applied twice).
      this.logger.warn(
        { topic, partition, floor: known.toString(), highWatermark },
        'partition log ends below the committed offset; nothing skipped',
      );
      this.floors.delete(key);
    }
    if (this.doubtful.has(key)) {
      const committed = await withinDeadline(
        'committed offset check',
        this.committedOffset(topic, partition),
      );
      this.doubtful.delete(key);
      this.raiseFloor(key, committed);
    }
    const floor = this.floors.get(key);
    if (floor === undefined) return messages;
    const pending = messages.filter((m) => BigInt(m.offset) >= floor);
    if (pending.length < messages.length) {
      this.logger.warn(
        {
          topic,
          partition,
          committed: floor.toString(),
          skipped: messages.length - pending.length,
        },
        'skipped messages a completed transaction had committed',
      );
    }
    return pending;
  }

  /** This member committed up to `next` (exclusive) on the partition, by any means. */
  noteCommitted(topic: string, partition: number, next: string): void {
    this.raiseFloor(`${topic}:${partition}`, BigInt(next));
  }

  private raiseFloor(key: string, offset: bigint): void {
    if (offset > (this.floors.get(key) ?? -1n)) this.floors.set(key, offset);
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
      groupId: this.groupId,
      topics: [topic],
    });
    const found = offsets?.partitions.find((p) => p.partition === partition);
    return found ? BigInt(found.offset) : -1n;
  }

  /** Sends the messages and commits the offset atomically (read_committed readers see both or neither). */
  async commitWith(
    producer: Producer,
    messages: OutboundMessage[],
    next: { topic: string; partition: number; offset: string },
  ): Promise<void> {
    const key = `${next.topic}:${next.partition}`;
    try {
      await withinDeadline('transaction', this.transact(producer, messages, next));
      this.noteCommitted(next.topic, next.partition, next.offset);
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
        // Chunks below the broker's record-batch limit: one send of a whole batch's dead
        // letters can exceed it even when every message fits (see outbound-chunks).
        for (const chunk of chunkBySize(list, this.maxChunkBytes)) {
          await transaction.send({
            topic,
            acks: -1,
            messages: chunk.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
          });
        }
      }
      await transaction.sendOffsets({
        consumerGroupId: this.groupId,
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
