import { createKafka, ensureTopics, MessageProducer } from '@paygate/messaging';
import { testConfig, waitFor } from '@paygate/testing';
import type { Consumer } from 'kafkajs';
import { randomBytes, randomUUID } from 'node:crypto';
import { openOwnOutbox } from '@test/own-outbox';
import type { DataSource } from 'typeorm';
import { ChannelListener } from './channel-listener';
import { enqueueOutbox, outboxChannel, outboxNotifySql } from './outbox';
import { OutboxRelay, listenerConnection } from './outbox-relay';

// A relay that polls only once an hour: whatever it drains within a test, a notification (or
// the catch-up after (re)gaining its LISTEN connection) made it drain.
const NEVER_POLLS = { pollMs: 3_600_000, quietPollMs: 3_600_000, gapMs: 0 };

describe('OutboxRelay woken by NOTIFY (real Postgres and Kafka)', () => {
  const kafka = createKafka('itest-outbox-wakeups', testConfig().kafkaBrokers);
  const producer = new MessageProducer(kafka);
  const topic = `${testConfig().kafkaPrefix}itest.outbox-wakeups.${randomUUID()}`;
  // A schema of this test's own: no other relay of the test run drains its outbox.
  const schema = `itest_outbox_${randomBytes(4).toString('hex')}`;
  const listenerName = `itest-outbox-listen-${schema}`;
  let dataSource: DataSource;
  let reader: Consumer;
  const seen: string[] = [];
  let relay: OutboxRelay;
  let listener: ChannelListener;
  const listening: boolean[] = [];

  const enqueue = (value: string) =>
    dataSource.transaction((m) => enqueueOutbox(m, schema, [{ topic, key: null, value }]));
  const left = async () =>
    (await dataSource.query(`SELECT count(*)::int AS n FROM "${schema}"."outbox"`))[0].n as number;

  beforeAll(async () => {
    dataSource = await openOwnOutbox(schema);
    for (const sql of outboxNotifySql(schema)) await dataSource.query(sql);
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    await producer.connect();
    reader = kafka.consumer({ groupId: `itest-outbox-wakeups-${randomUUID()}` });
    await reader.connect();
    await reader.subscribe({ topic, fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });

    relay = new OutboxRelay(dataSource, schema, producer, NEVER_POLLS);
    listener = new ChannelListener(
      listenerConnection(dataSource, listenerName),
      outboxChannel(schema),
      {
        notified: () => relay.wake(),
        listening: (on) => {
          listening.push(on);
          relay.listening(on);
        },
      },
      { retryMs: 200, maxRetryMs: 1_000 },
    );
    relay.start();
    listener.start();
    await waitFor(() => listening.at(-1) === true);
  });
  afterAll(async () => {
    await listener.stop();
    await relay.stop();
    await reader.disconnect();
    await producer.disconnect();
    await dataSource.query(`DROP SCHEMA "${schema}" CASCADE`);
    await dataSource.destroy();
  });

  it('drains a row as soon as it is committed, with no poll due', async () => {
    await enqueue('first');
    await waitFor(() => seen.includes('first'), { state: () => JSON.stringify(seen) });
    expect(await left()).toBe(0);
  });

  it('sends every row of many concurrent transactions exactly once, in fewer drains than rows', async () => {
    const drains = jest.spyOn(relay, 'drainOnce');
    const values = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
    await Promise.all(values.map(enqueue));
    await waitFor(async () => (await left()) === 0, { state: () => `${seen.length} seen` });
    await waitFor(() => values.every((v) => seen.includes(v)));
    expect(seen.filter((v) => v.startsWith('burst-')).sort()).toEqual([...values].sort());
    // Wake-ups that arrive during a drain fold into one more drain: never one per row.
    expect(drains.mock.calls.length).toBeLessThan(values.length);
    drains.mockRestore();
  });

  it('catches up on rows committed while its LISTEN connection was cut, then listens again', async () => {
    const before = listening.length;
    await dataSource.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
      [listenerName],
    );
    // Committed while no one listens: no notification will ever announce it.
    await enqueue('while-cut');
    await waitFor(() => listening.slice(before).join() === 'false,true', {
      state: () => JSON.stringify(listening),
    });
    await waitFor(() => seen.includes('while-cut'), { state: () => JSON.stringify(seen) });
    await enqueue('after-reconnect');
    await waitFor(() => seen.includes('after-reconnect'), { state: () => JSON.stringify(seen) });
    expect(await left()).toBe(0);
  });

  it('is installed on both services’ outboxes by their migrations', async () => {
    const rows: { schema: string }[] = await dataSource.query(
      `SELECT n.nspname AS schema FROM pg_trigger t
       JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE t.tgname = 'outbox_notify' AND c.relname = 'outbox'
         AND n.nspname IN ('entitlement', 'metering') ORDER BY 1`,
    );
    expect(rows.map((r) => r.schema)).toEqual(['entitlement', 'metering']);
  });
});
