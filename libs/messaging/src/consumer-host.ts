import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  BatchConsumer,
  type BatchConsumerOptions,
  type BatchHandler,
  type InboundMessage,
} from './batch-consumer';
import type { ProgressSnapshot } from './consumer-progress';
import { createKafka } from './kafka';

/** Where a consumer reads: its Kafka client id, the brokers, and its BatchConsumer options. */
export interface ConsumerSetup {
  clientId: string;
  brokers: string[];
  options: BatchConsumerOptions;
}

/**
 * The lifecycle every Kafka consumer of a service shares, for a Nest provider to extend: on
 * application bootstrap it creates a BatchConsumer from `consumerSetup()` and starts it with
 * `handle`; `progress()` reports its lag and stall (for readiness checks and stall alerts);
 * on application shutdown it stops it. A subclass says only where it reads and what a batch
 * does.
 */
export abstract class ConsumerHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private consumer?: BatchConsumer;

  /** Read at bootstrap, when the consumer is created. */
  protected abstract consumerSetup(): ConsumerSetup;

  /** Handles one batch of one partition (see BatchHandler). */
  protected abstract handle(messages: InboundMessage[]): ReturnType<BatchHandler>;

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = this.createConsumer(this.consumerSetup());
    await this.consumer.start((messages) => this.handle(messages));
  }

  /** Lag and stall of this instance's partitions (undefined before it started). */
  progress(): ProgressSnapshot | undefined {
    return this.consumer?.progress();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  /** The consumer for a setup (a test may hand in another). */
  protected createConsumer({ clientId, brokers, options }: ConsumerSetup): BatchConsumer {
    return new BatchConsumer(createKafka(clientId, brokers), options);
  }
}
