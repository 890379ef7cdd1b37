import { testConfig } from '@paygate/testing';
import { Kafka, logLevel } from 'kafkajs';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { deleteTopics, ensureTopics } from './kafka';
import { MessageProducer } from './producer';

/** The process listening on the test broker's port (this machine's broker, as in CI). */
function brokerPid(): number {
  const port = testConfig().kafkaBrokers[0].split(':').pop();
  const listening = execFileSync('ss', ['-Htlnp', `sport = :${port}`], { encoding: 'utf8' });
  const pid = /pid=(\d+)/.exec(listening)?.[1];
  if (!pid) throw new Error(`no local process listens on the broker port ${port}`);
  return Number(pid);
}

/** The topic's values in order, read with kcat (librdkafka: a client other than the one tested). */
function valuesOf(topic: string): string[] {
  const out = execFileSync(
    'kcat',
    ['-C', '-b', testConfig().kafkaBrokers.join(','), '-t', topic, '-e', '-q', '-f', '%s\n'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return out.split('\n').filter((line) => line !== '');
}

describe('MessageProducer across a broker stalled mid-send (real Kafka)', () => {
  // Short timeouts and one retry, so a send gives up within seconds of the broker stalling
  // (the services' client gives up after its retries the same way, only later).
  const kafka = new Kafka({
    clientId: 'itest-producer',
    brokers: testConfig().kafkaBrokers,
    requestTimeout: 1500,
    retry: { retries: 1, initialRetryTime: 100 },
    logLevel: logLevel.NOTHING,
  });
  const topic = `${testConfig().kafkaPrefix}itest.producer.${randomUUID()}`;
  const producer = new MessageProducer(kafka);
  let stopped: number | undefined;

  beforeAll(async () => {
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
    await producer.connect();
  });
  afterAll(async () => {
    if (stopped) process.kill(stopped, 'SIGCONT');
    await producer.disconnect();
    await deleteTopics(kafka, [topic]).catch(() => undefined);
  });

  const message = (value: string) => ({ topic, key: 'k', value });

  it('sends again after a send the broker wrote but never answered, and loses nothing', async () => {
    await producer.sendBatch([message('m0')]);
    // The broker stops while m1 is sent: the request waits in its socket, the send times out
    // (twice) and fails; once the broker runs again it writes m1 after all.
    stopped = brokerPid();
    process.kill(stopped, 'SIGSTOP');
    await expect(producer.sendBatch([message('m1')])).rejects.toThrow();
    process.kill(stopped, 'SIGCONT');
    stopped = undefined;
    // What a caller does next: the failed message again, with what was queued meanwhile. With
    // the old producer every such send was refused (OUT_OF_ORDER_SEQUENCE_NUMBER) for good.
    await producer.sendBatch([message('m1'), message('m2')]);
    await producer.sendBatch([message('m3')]);
    const values = valuesOf(topic);
    // m1 may be there twice (written before the stall answered, then sent again): consumers
    // dedupe by message id. Nothing is missing, and the order holds.
    expect(values.filter((v) => v !== 'm1')).toEqual(['m0', 'm2', 'm3']);
    expect(values.filter((v) => v === 'm1').length).toBeGreaterThanOrEqual(1);
    expect(values.indexOf('m1')).toBeLessThan(values.indexOf('m2'));
  });
});
