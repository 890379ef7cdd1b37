import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { UsageEvent } from '@paygate/contracts';
import { MessageProducer, createKafka } from '@paygate/messaging';
import { MeteringConfig } from '../config/metering.config';

/** Publishes HTTP-ingested events to the usage topic, keyed by customer like every producer. */
@Injectable()
export class EventsPublisher implements OnModuleInit, OnApplicationShutdown {
  private readonly producer: MessageProducer;
  private readonly topic: string;

  constructor(@Inject(MeteringConfig) config: MeteringConfig) {
    this.topic = config.usageTopic;
    this.producer = new MessageProducer(
      createKafka('paygate-metering-events', config.KAFKA_BROKERS),
    );
  }

  onModuleInit(): Promise<void> {
    return this.producer.connect();
  }

  onApplicationShutdown(): Promise<void> {
    return this.producer.disconnect();
  }

  /** Resolves once the broker acknowledged every event. */
  publish(events: UsageEvent[]): Promise<void> {
    return this.producer.sendBatch(
      events.map((e) => ({ topic: this.topic, key: e.subject, value: JSON.stringify(e) })),
    );
  }
}
