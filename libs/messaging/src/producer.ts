import { Logger } from '@nestjs/common';
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
 *
 * A send that failed may still have been written (the broker stalled or died after writing,
 * before its answer arrived). kafkajs then rewinds its sequence numbers, so the next send,
 * which holds other messages (the failed ones and those queued since), starts at a sequence
 * the broker has already written, and the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER to that
 * and to every later send of this producer id: the producer would be jammed for good. So after
 * a failed send the next one first replaces the producer (a new producer id, sequences from
 * 0); a message of the failed send that was written after all is then written again, which
 * consumers dedupe (producer.int-spec: a broker stopped mid-send).
 */
export class MessageProducer {
  private readonly logger = new Logger(MessageProducer.name);
  private producer: Producer;
  /** The last send failed: replace the producer before the next one. */
  private renew = false;

  constructor(private readonly kafka: Kafka) {
    this.producer = this.create();
  }

  private create(): Producer {
    return this.kafka.producer({
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

  /** A new producer (and producer id) in place of one whose last send failed. */
  private async replace(): Promise<void> {
    const old = this.producer;
    this.producer = this.create();
    await old.disconnect().catch(() => undefined);
    await this.producer.connect();
    this.renew = false;
    this.logger.warn('Kafka producer replaced after a failed send');
  }

  /** Sends messages grouped by topic in one request; resolves once the broker acknowledged all. */
  async sendBatch(messages: OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    if (this.renew) await this.replace();
    try {
      await this.send(messages);
    } catch (err) {
      this.renew = true;
      throw err;
    }
  }

  private async send(messages: OutboundMessage[]): Promise<void> {
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
