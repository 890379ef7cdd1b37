import { createKafka, ensureTopics, MessageProducer } from '@paygate/messaging';
import { testConfig, waitFor } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { enqueueOutbox } from './outbox';
import { OutboxRelay } from './outbox-relay';

describe('OutboxRelay (real Postgres and Kafka)', () => {
  const kafka = createKafka('itest-outbox', testConfig().kafkaBrokers);
  const producer = new MessageProducer(kafka);
  const topic = `${testConfig().kafkaPrefix}itest.outbox.${randomUUID()}`;
  // The metering schema's outbox (migrated by the global setup); rows of this test only.
  const schema = 'metering';
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await new DataSource({
      type: 'postgres',
      url: testConfig().databaseUrl,
    }).initialize();
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    await producer.connect();
  });
  afterAll(async () => {
    await dataSource.query(`DELETE FROM "metering"."outbox" WHERE "topic" = $1`, [topic]);
    await producer.disconnect();
    await dataSource.destroy();
  });

  it('parks a message Kafka refuses for what it is, and the messages behind it go out', async () => {
    await dataSource.transaction((m) =>
      enqueueOutbox(m, schema, [
        { topic, key: 'a', value: 'first' },
        // Over the send limit: it can never be sent, and used to block every row behind it.
        { topic, key: 'b', value: Buffer.alloc(1_500_000, 1) },
        { topic, key: 'c', value: 'third' },
      ]),
    );
    const relay = new OutboxRelay(dataSource, schema, producer);
    // Other rows of the shared outbox may go out too; drain until ours are handled.
    await waitFor(async () => {
      await relay.drainOnce();
      const [{ n }] = await dataSource.query(
        `SELECT count(*)::int AS n FROM "metering"."outbox" WHERE "topic" = $1 AND "parked_at" IS NULL`,
        [topic],
      );
      return n === 0;
    });
    const [row] = await dataSource.query(
      `SELECT "key", "park_reason" FROM "metering"."outbox" WHERE "topic" = $1`,
      [topic],
    );
    expect(row.key).toBe('b');
    expect(row.park_reason).toMatch(/exceeds/);

    const seen: string[] = [];
    const reader = kafka.consumer({ groupId: `itest-outbox-${randomUUID()}` });
    await reader.connect();
    await reader.subscribe({ topic, fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
    try {
      await waitFor(() => seen.length >= 2);
    } finally {
      await reader.disconnect();
    }
    expect(seen).toEqual(['first', 'third']);
  });
});
