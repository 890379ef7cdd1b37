import { testConfig, waitFor } from '@paygate/testing';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { BatchConsumer, type InboundMessage } from './batch-consumer';
import { createKafka, deleteTopics, ensureTopics } from './kafka';

const CODECS = [
  ['snappy', CompressionTypes.Snappy],
  ['lz4', CompressionTypes.LZ4],
  ['zstd', CompressionTypes.ZSTD],
] as const;

/**
 * One message compressed by kcat (librdkafka: another client, as other producers are), with
 * headers that kafkajs's patched decoder and headersOf must get right: a repeated one, one
 * named __proto__, and one with a null value (`-H name` without `=value`).
 */
function produceCompressed(topic: string, codec: string, value: string): void {
  execFileSync(
    'kcat',
    [
      ...['-P', '-b', testConfig().kafkaBrokers.join(','), '-t', topic, '-z', codec],
      ...['-H', `ce_id=evt-${codec}`, '-H', 'trace=first', '-H', 'trace=second'],
      ...['-H', '__proto__=not-a-prototype', '-H', 'ce_dataschema'],
    ],
    { input: `${value}\n`, timeout: 60_000 },
  );
}

describe('batches other producers compressed with snappy, lz4 and zstd (real Kafka)', () => {
  const kafka = createKafka('itest-compression', testConfig().kafkaBrokers);
  const topic = `${testConfig().kafkaPrefix}itest.compression.${randomUUID()}`;
  // Which codec decoded each batch: proof that the batches arrived compressed.
  const decodedBy: string[] = [];

  beforeAll(async () => {
    for (const [name, type] of CODECS) {
      const codecOf = CompressionCodecs[type];
      CompressionCodecs[type] = () => {
        const codec = codecOf();
        return {
          ...codec,
          decompress: (buffer: Buffer) => {
            decodedBy.push(name);
            return codec.decompress(buffer);
          },
        };
      };
    }
    await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
  });
  afterAll(async () => {
    await deleteTopics(kafka, [topic]).catch(() => undefined);
  });

  it('reaches the handler of a consumer built by createKafka, headers and all', async () => {
    // Above lz4's 64 kB and snappy-java's 32 kB blocks, and very compressible.
    const pad = Array.from({ length: 8000 }, (_, i) => `evt-${i % 100}`).join(' ');
    for (const [codec] of CODECS) produceCompressed(topic, codec, JSON.stringify({ codec, pad }));

    const received: InboundMessage[] = [];
    const consumer = new BatchConsumer(kafka, {
      groupId: `${testConfig().kafkaPrefix}itest-compression-${randomUUID()}`,
      topic,
      fromBeginning: true,
    });
    await consumer.start(async (messages) => void received.push(...messages));
    try {
      // Without the codecs the consumer crashes on the first batch and again after every
      // restart (KafkaJSNotImplemented); the state says so if it happens.
      await waitFor(() => received.length >= 3, {
        timeoutMs: 60_000,
        state: () => JSON.stringify(consumer.progress().outOfGroup ?? 'in group'),
      });
    } finally {
      await consumer.stop();
    }

    expect(received.map((m) => (JSON.parse(String(m.value)) as { codec: string }).codec)).toEqual([
      'snappy',
      'lz4',
      'zstd',
    ]);
    expect(new Set(decodedBy)).toEqual(new Set(['snappy', 'lz4', 'zstd']));
    // What librdkafka reads back: the header sent without a value is there, with a null value.
    const [first] = execFileSync(
      'kcat',
      ['-C', '-b', testConfig().kafkaBrokers.join(','), '-t', topic, '-e', '-q', '-J', '-c', '1'],
      { encoding: 'utf8', timeout: 60_000 },
    ).split('\n');
    expect((JSON.parse(first) as { headers: (string | null)[] }).headers.slice(-2)).toEqual([
      'ce_dataschema',
      null,
    ]);
    for (const message of received) {
      expect(JSON.parse(String(message.value))).toMatchObject({ pad });
      const codec = (JSON.parse(String(message.value)) as { codec: string }).codec;
      expect(message.headers).toEqual({
        ce_id: `evt-${codec}`,
        trace: 'first',
        ['__proto__']: 'not-a-prototype',
      });
      expect(Object.getPrototypeOf(message.headers)).toBe(Object.prototype);
    }
  });
});
