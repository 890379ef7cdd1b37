import { testConfig, waitFor } from '@paygate/testing';
import type { Producer, Transaction } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { BatchConsumer } from './batch-consumer';
import { createKafka, ensureTopics } from './kafka';
import { MessageProducer } from './producer';

/**
 * Messages of aborted transactions never reach a BatchConsumer's handler (read_committed), in
 * the two layouts kafkajs 2.2.4 got wrong before patches/kafkajs+2.2.4.patch: a fetch that
 * starts inside two aborted transactions, and aborted transactions that the broker lists in
 * the order they ended rather than by first offset. Usage events of a publisher's aborted
 * transaction would otherwise be metered.
 */
describe('aborted transactions (real Kafka)', () => {
  const kafka = createKafka('itest-aborted', testConfig().kafkaBrokers);
  const plain = new MessageProducer(kafka);
  const producers: Producer[] = [];

  beforeAll(() => plain.connect());
  afterAll(async () => {
    await Promise.all(producers.map((p) => p.disconnect()));
    await plain.disconnect();
  });

  /** A new one-partition topic and two transactions open on it, of two producers. */
  async function twoTransactionsOn(label: string) {
    const topic = `${testConfig().kafkaPrefix}itest.aborted-${label}.${randomUUID()}`;
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    const transactions: Transaction[] = [];
    for (let i = 0; i < 2; i++) {
      const producer = kafka.producer({
        transactionalId: `itest-aborted-${randomUUID()}`,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await producer.connect();
      producers.push(producer);
      transactions.push(await producer.transaction());
    }
    return { topic, transactions };
  }

  async function send(tx: Transaction, topic: string, value: string): Promise<void> {
    await tx.send({ topic, acks: -1, messages: [{ key: 'k', value }] });
  }

  /** What a new group's BatchConsumer hands its handler, starting at `from`. */
  async function consumed(topic: string, from: number): Promise<string[]> {
    const groupId = `itest-aborted-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({
      groupId,
      topic,
      partitions: [{ partition: 0, offset: String(from) }],
    });
    await admin.disconnect();
    const seen: string[] = [];
    const consumer = new BatchConsumer(kafka, { groupId, topic, fetchMaxWaitMs: 100 });
    await consumer.start(async (messages) => {
      seen.push(...messages.map((m) => m.value?.toString() ?? ''));
    });
    try {
      await waitFor(() => seen.includes('committed'), { state: () => `saw ${seen.join(', ')}` });
    } finally {
      await consumer.stop();
    }
    return seen;
  }

  it('skips a fetch that starts inside two aborted transactions', async () => {
    const {
      topic,
      transactions: [t1, t2],
    } = await twoTransactionsOn('inside');
    await send(t1, topic, 'aborted-1'); // offset 0
    await send(t2, topic, 'aborted-2'); // offset 1
    await send(t2, topic, 'aborted-3'); // offset 2
    await t1.abort(); // marker at 3
    await t2.abort(); // marker at 4
    await plain.sendBatch([{ topic, key: 'k', value: 'committed' }]); // offset 5
    // From offset 2 the fetch lists both aborted transactions, both begun before its first message.
    expect(await consumed(topic, 2)).toEqual(['committed']);
  });

  it('skips aborted transactions listed in the order they ended, not by first offset', async () => {
    const {
      topic,
      transactions: [early, late],
    } = await twoTransactionsOn('order');
    await send(early, topic, 'aborted-first'); // offset 0: begins first ...
    await send(late, topic, 'aborted-second'); // offset 1
    await late.abort(); // marker at 2
    await early.abort(); // ... and ends last (marker at 3)
    await plain.sendBatch([{ topic, key: 'k', value: 'committed' }]); // offset 4
    expect(await consumed(topic, 0)).toEqual(['committed']);
  });
});
