import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import { createKafka, deleteTopics, ensureTopics } from './kafka';
import { MessageProducer } from './producer';

/**
 * kafkajs's RequestQueue timer as patches/kafkajs+2.2.4.patch leaves it, on a real broker:
 * requests queued behind the one in flight all go out, and an idle connection no longer wakes
 * the process every millisecond.
 */
describe('kafkajs RequestQueue timer (real Kafka)', () => {
  const kafka = createKafka('itest-request-queue', testConfig().kafkaBrokers);
  const topic = `${testConfig().kafkaPrefix}itest.request-queue.${randomUUID()}`;
  const producer = new MessageProducer(kafka);

  beforeAll(async () => {
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await deleteTopics(kafka, [topic]).catch(() => undefined);
  });

  it('sends every request queued behind the one in flight', async () => {
    // A plain producer with one request in flight per connection: concurrent sends wait in
    // the RequestQueue's pending list, which responses and the 10 ms check drain.
    const queued = kafka.producer({ maxInFlightRequests: 1 });
    await queued.connect();
    try {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          queued.send({ topic, acks: -1, messages: [{ key: 'k', value: String(i) }] }),
        ),
      );
    } finally {
      await queued.disconnect();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [partition] = await admin.fetchTopicOffsets(topic);
      expect(partition.high).toBe('40');
    } finally {
      await admin.disconnect();
    }
  });

  it('arms no queue check while the connection is idle', async () => {
    await producer.sendBatch([{ topic, key: 'k', value: 'last' }]);
    // Any check armed by that send runs out within kafkajs's 10 ms interval.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const spy = jest.spyOn(global, 'setTimeout');
    try {
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise<void>((resolve) => {
        const started = Date.now();
        const wait = () => (Date.now() - started >= 500 ? resolve() : setImmediate(wait));
        wait();
      });
      const queueChecks = spy.mock.calls.filter(([callback]) =>
        String(callback).includes('checkPendingRequests'),
      );
      // Unpatched, each connection arms one every millisecond: hundreds in this half second.
      expect(queueChecks).toHaveLength(0);
    } finally {
      spy.mockRestore();
    }
  });
});
