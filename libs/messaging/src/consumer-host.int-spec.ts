import { testConfig, waitFor } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { InboundMessage } from './batch-consumer';
import { ConsumerHost, type ConsumerSetup } from './consumer-host';
import { createKafka, deleteTopics, ensureTopics } from './kafka';
import { MessageProducer } from './producer';

describe('ConsumerHost (real Kafka)', () => {
  const brokers = testConfig().kafkaBrokers;
  const kafka = createKafka('itest-host', brokers);
  const topic = `${testConfig().kafkaPrefix}itest.host.${randomUUID()}`;
  const groupId = `itest-host-${randomUUID()}`;
  const producer = new MessageProducer(kafka);

  class Host extends ConsumerHost {
    readonly seen: string[] = [];
    protected consumerSetup(): ConsumerSetup {
      return { clientId: 'itest-host', brokers, options: { groupId, topic, progressPollMs: 200 } };
    }
    protected async handle(messages: InboundMessage[]): Promise<void> {
      this.seen.push(...messages.map((m) => String(m.value)));
    }
  }

  beforeAll(async () => {
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await deleteTopics(kafka, [topic]).catch(() => undefined);
  });

  it('consumes from bootstrap, reports its progress, and commits before it stops', async () => {
    await producer.sendBatch(['a', 'b', 'c'].map((value) => ({ topic, key: 'k', value })));
    const host = new Host();
    expect(host.progress()).toBeUndefined();
    await host.onApplicationBootstrap();
    try {
      await waitFor(() => host.seen.length >= 3);
      expect(host.seen).toEqual(['a', 'b', 'c']);
      await waitFor(() => host.progress()?.partitions.length === 1 && host.progress()?.lag === 0);
      expect(host.progress()).toMatchObject({ lag: 0, stalled: [] });
    } finally {
      await host.onApplicationShutdown();
    }

    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    await admin.disconnect();
    expect(committed.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '3' })]);
  });
});
