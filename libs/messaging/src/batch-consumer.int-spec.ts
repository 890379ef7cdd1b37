import { testConfig, waitFor } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import { BatchConsumer, InboundMessage } from './batch-consumer';
import { transactionalIdOf } from './partition-transactions';
import { createKafka, ensureTopics } from './kafka';
import { MessageProducer } from './producer';
import { Client } from 'pg';

describe('BatchConsumer (real Kafka)', () => {
  const kafka = createKafka('itest', testConfig().kafkaBrokers);
  const topic = `${testConfig().kafkaPrefix}itest.batch.${randomUUID()}`;
  const groupId = `itest-${randomUUID()}`;
  const producer = new MessageProducer(kafka);

  beforeAll(async () => {
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    await producer.connect();
  });
  /**
   * Reads `outTopic` from the beginning until `count` messages arrived (and a second more, so a
   * repeat would show), then stops the reader and `consumer`; the values read.
   */
  async function outputsOf(outTopic: string, count: number, consumer: BatchConsumer) {
    const outputs: string[] = [];
    const reader = kafka.consumer({ groupId: `itest-reader-${randomUUID()}` });
    await reader.connect();
    await reader.subscribe({ topic: outTopic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => void outputs.push(String(message.value)),
    });
    try {
      await waitFor(() => outputs.length >= count);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await reader.disconnect();
      await consumer.stop();
    }
    return outputs;
  }

  /** Points a new group at the last `back` messages of the topic (it holds other tests' too). */
  async function startGroupAt(group: string, back: number): Promise<string> {
    const admin = kafka.admin();
    await admin.connect();
    const [end] = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({
      groupId: group,
      topic,
      partitions: [{ partition: 0, offset: String(Number(end.high) - back) }],
    });
    await admin.disconnect();
    return end.high;
  }

  afterAll(async () => {
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('names the topic and the remedy when the topic does not exist, and stays disconnected', async () => {
    const missing = `${testConfig().kafkaPrefix}itest.missing.${randomUUID()}`;
    const consumer = new BatchConsumer(kafka, { groupId: `itest-${randomUUID()}`, topic: missing });
    const started = consumer.start(async () => undefined);
    await expect(started).rejects.toThrow(`cannot consume ${missing} as `);
    await expect(started).rejects.toThrow('npm run setup');
    // Nothing of it keeps running: stopping it afterwards is harmless.
    await consumer.stop();
  });

  it('tells when it is out of its group for the stall time: before it joins, and once stopped', async () => {
    const consumer = new BatchConsumer(kafka, {
      groupId: `itest-${randomUUID()}`,
      topic,
      stallMs: 0,
      progressPollMs: 60_000,
    });
    expect(consumer.progress().outOfGroup).toMatchObject({ why: 'not joined yet' });
    await consumer.start(async () => undefined);
    await waitFor(() => consumer.progress().outOfGroup === undefined);
    await consumer.stop();
    expect(consumer.progress().outOfGroup).toMatchObject({ why: 'stopped' });
  });

  it('redelivers a batch whose handler failed and commits last offset + 1 after success', async () => {
    await producer.sendBatch(
      Array.from({ length: 10 }, (_, i) => ({
        topic,
        key: 'k',
        value: `m${i}`,
        headers: { n: String(i) },
      })),
    );
    const seen: InboundMessage[] = [];
    let failures = 0;
    const consumer = new BatchConsumer(kafka, { groupId, topic });
    await consumer.start(async (messages) => {
      if (failures === 0) {
        failures += 1;
        throw new Error('database unavailable');
      }
      seen.push(...messages);
    });
    try {
      await waitFor(() => seen.length >= 10);
    } finally {
      await consumer.stop();
    }
    expect(failures).toBe(1);
    expect(seen.map((m) => m.value?.toString())).toEqual(
      Array.from({ length: 10 }, (_, i) => `m${i}`),
    );
    expect(seen[3].headers).toEqual({ n: '3' });

    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    await admin.disconnect();
    expect(offsets.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '10' })]);
  });

  it('publishes what the handler returns in one transaction with the offset commit', async () => {
    const outTopic = `${testConfig().kafkaPrefix}itest.batch-out.${randomUUID()}`;
    const txGroup = `itest-tx-${randomUUID()}`;
    await ensureTopics(kafka, [{ name: outTopic, partitions: 1 }]);
    await producer.sendBatch([{ topic, key: 'k', value: 'tx-1' }]);
    // Only the message just sent: the topic holds the first test's too.
    const high = await startGroupAt(txGroup, 1);

    let attempts = 0;
    const consumer = new BatchConsumer(kafka, {
      groupId: txGroup,
      topic,
      transactionalIdPrefix: `itest-tx-${randomUUID()}`,
    });
    await consumer.start(async (messages) => {
      attempts += 1;
      return messages.map((m) => ({
        topic: outTopic,
        key: null,
        value: `out-${m.value?.toString()}`,
      }));
    });
    const outputs = await outputsOf(outTopic, 1, consumer);
    expect(attempts).toBe(1);
    expect(outputs).toEqual(['out-tx-1']);
    const check = kafka.admin();
    await check.connect();
    const [offsets] = await check.fetchOffsets({ groupId: txGroup, topics: [topic] });
    await check.disconnect();
    expect(offsets.partitions[0].offset).toBe(high);
  });

  it('redelivers a batch whose Kafka commit failed after its database commit; keyed writes apply it once', async () => {
    // The failure "one outcome per batch" is about: the handler's Postgres transaction has
    // committed, then the Kafka transaction (its output and the offset) fails. Here it fails
    // for real: the first attempt returns a message larger than the send limit, refused
    // inside the transaction, which is aborted.
    const outTopic = `${testConfig().kafkaPrefix}itest.batch-out2.${randomUUID()}`;
    const group = `itest-between-${randomUUID()}`;
    const table = `itest_applied_${randomUUID().replace(/-/g, '')}`;
    await ensureTopics(kafka, [{ name: outTopic, partitions: 1 }]);
    const db = new Client({ connectionString: testConfig().databaseUrl });
    await db.connect();
    await db.query(`CREATE TABLE "${table}" ("offset" bigint PRIMARY KEY, "value" text)`);
    await producer.sendBatch(
      Array.from({ length: 5 }, (_, i) => ({ topic, key: 'k', value: `between-${i}` })),
    );
    await startGroupAt(group, 5);

    let attempts = 0;
    let applied = 0;
    const consumer = new BatchConsumer(kafka, {
      groupId: group,
      topic,
      transactionalIdPrefix: `itest-between-${randomUUID()}`,
      maxChunkBytes: 1024,
    });
    await consumer.start(async (messages) => {
      attempts += 1;
      const { rowCount } = await db.query(
        `INSERT INTO "${table}" SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING`,
        [messages.map((m) => m.offset), messages.map((m) => String(m.value))],
      );
      applied += rowCount ?? 0;
      return messages.map((m) => ({
        topic: outTopic,
        key: null,
        value: attempts === 1 ? 'x'.repeat(4096) : `out-${m.value?.toString()}`,
      }));
    });
    const outputs = await outputsOf(outTopic, 5, consumer);
    const [{ n }] = (await db.query(`SELECT count(*)::int AS n FROM "${table}"`)).rows;
    await db.query(`DROP TABLE "${table}"`);
    await db.end();
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect({ applied, rows: n }).toEqual({ applied: 5, rows: 5 });
    expect(outputs).toEqual(Array.from({ length: 5 }, (_, i) => `out-between-${i}`));
  });

  it('keeps consuming after a handler error kafkajs treats as fatal (a TypeError)', async () => {
    // kafkajs stops a consumer for good on a TypeError; a bug hit by one batch, or a driver
    // error of that class, must not leave the instance running but consuming nothing.
    const bugGroup = `itest-bug-${randomUUID()}`;
    await producer.sendBatch([{ topic, key: 'k', value: 'after-bug' }]);
    await startGroupAt(bugGroup, 1);
    let calls = 0;
    const seen: string[] = [];
    const consumer = new BatchConsumer(kafka, { groupId: bugGroup, topic });
    await consumer.start(async (messages) => {
      calls += 1;
      if (calls === 1) (undefined as unknown as { x: () => void }).x();
      seen.push(...messages.map((m) => String(m.value)));
    });
    try {
      await waitFor(() => seen.length >= 1);
    } finally {
      await consumer.stop();
    }
    expect(calls).toBe(2);
    expect(seen).toEqual(['after-bug']);
  });

  /**
   * The partition's previous owner applied the batch and sent its output in a transaction with
   * the offset, but its commit had not reached the broker when the partition moved. It tries
   * that commit late: after the new owner committed, or while the new owner handles the batch
   * (after it took the partition and checked the committed offset, before its own transaction).
   */
  async function previousOwnerCommitsLate(when: 'after' | 'during'): Promise<void> {
    const inTopic = `${testConfig().kafkaPrefix}itest.batch-fence-in.${randomUUID()}`;
    const outTopic = `${testConfig().kafkaPrefix}itest.batch-fence-out.${randomUUID()}`;
    const fenceGroup = `itest-fence-${randomUUID()}`;
    await ensureTopics(kafka, [
      { name: inTopic, partitions: 1 },
      { name: outTopic, partitions: 1 },
    ]);
    await producer.sendBatch([{ topic: inTopic, key: 'k', value: 'm0' }]);
    const zombie = kafka.producer({
      transactionalId: transactionalIdOf(fenceGroup, inTopic, 0),
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
    });
    await zombie.connect();
    const open = await zombie.transaction();
    await open.send({ topic: outTopic, acks: -1, messages: [{ key: null, value: 'out-m0' }] });
    await open.sendOffsets({
      consumerGroupId: fenceGroup,
      topics: [{ topic: inTopic, partitions: [{ partition: 0, offset: '1' }] }],
    });
    const lateCommit = () =>
      open.commit().then(
        () => 'committed',
        () => 'fenced',
      );

    const consumer = new BatchConsumer(kafka, {
      groupId: fenceGroup,
      topic: inTopic,
      transactionalIdPrefix: fenceGroup,
    });
    let applied = 0;
    let duringBatch: string | undefined;
    await consumer.start(async (messages) => {
      applied += messages.length;
      if (when === 'during' && duringBatch === undefined) duringBatch = await lateCommit();
      return messages.map((m) => ({
        topic: outTopic,
        key: null,
        value: `out-${m.value?.toString()}`,
      }));
    });
    const admin = kafka.admin();
    await admin.connect();
    const outputs: string[] = [];
    const reader = kafka.consumer({ groupId: `itest-fence-reader-${randomUUID()}` });
    try {
      await waitFor(async () => {
        const [offsets] = await admin.fetchOffsets({ groupId: fenceGroup, topics: [inTopic] });
        return offsets.partitions[0]?.offset === '1';
      });
      // The new owner's producer fenced the old one when it took the partition: the late
      // commit cannot land any more.
      expect(when === 'during' ? duringBatch : await lateCommit()).toBe('fenced');
      await reader.connect();
      await reader.subscribe({ topic: outTopic, fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) => void outputs.push(String(message.value)),
      });
      await waitFor(() => outputs.length >= 1);
      await new Promise((r) => setTimeout(r, 1500)); // a second copy would arrive by now
    } finally {
      await reader.disconnect();
      await admin.disconnect();
      await consumer.stop();
      await zombie.disconnect().catch(() => undefined);
    }
    expect(applied).toBe(1);
    expect(outputs).toEqual(['out-m0']);
  }

  it("fences the transaction a partition's previous owner left, so its batch is not applied twice", () =>
    previousOwnerCommitsLate('after'));

  it('fences the previous owner as it takes the partition, before its first transaction', () =>
    previousOwnerCommitsLate('during'));
});
