import { Logger } from '@nestjs/common';
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import { registerCompressionCodecs } from './compression-codecs';

/**
 * The only module that constructs a kafkajs client. Everything else talks to the small
 * producer/consumer types of this lib, so the client library could be swapped.
 */
export function createKafka(clientId: string, brokers: string[]): Kafka {
  // Other producers may compress with snappy, lz4 or zstd, which kafkajs cannot decode on its
  // own: one such batch would stop a consumer for good (see compression-codecs.ts). Registered
  // here, where every paygate client is built, before any client can fetch.
  registerCompressionCodecs();
  const logger = new Logger(`kafka:${clientId}`);
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 100, retries: 8 },
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...extra } = log;
        if (level <= logLevel.ERROR) logger.error({ ...extra }, message);
        else logger.warn({ ...extra }, message);
      },
  });
}

export interface TopicSpec {
  name: string;
  partitions: number;
}

export async function deleteTopics(kafka: Kafka, names: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: names });
  } finally {
    await admin.disconnect();
  }
}

/** Creates missing topics; existing ones are left as they are. */
export async function ensureTopics(kafka: Kafka, topics: TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: 1,
        })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Points a consumer group that has no members at the current end of a topic, so that it
 * consumes only what is published from now on (benchmarks and tests that share a broker).
 */
export async function startGroupAtEnd(kafka: Kafka, groupId: string, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({
      groupId,
      topic,
      partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })),
    });
  } finally {
    await admin.disconnect();
  }
}
