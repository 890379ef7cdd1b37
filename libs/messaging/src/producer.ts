import type { Kafka, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { DEFAULT_MAX_CHUNK_BYTES, chunkBySize } from './outbound-chunks';

export type { OutboundMessage } from './messages';
import type { OutboundMessage } from './messages';

/**
 * Idempotent producer: broker-side dedupe of retried sends, acks from all replicas. Retries are
 * bounded (kafkajs warns that this weakens its exactly-once), because a send must fail back to
 * its caller rather than block forever; the caller re-sends, and every consumer dedupes by
 * message id, so a duplicate write never becomes a duplicate effect.
 */
export class MessageProducer {
  private readonly producer: Producer;

  constructor(kafka: Kafka) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /** Sends messages grouped by topic in one request; resolves once the broker acknowledged all. */
  async sendBatch(messages: OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    // Chunked below the broker's record-batch limit (see outbound-chunks), in order.
    for (const chunk of chunkBySize(messages, DEFAULT_MAX_CHUNK_BYTES)) {
      const byTopic = new Map<string, OutboundMessage[]>();
      for (const m of chunk) {
        const list = byTopic.get(m.topic) ?? [];
        list.push(m);
        byTopic.set(m.topic, list);
      }
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic,
          messages: list.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
        })),
      });
    }
  }
}
