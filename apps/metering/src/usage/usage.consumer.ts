import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { BatchConsumer, createKafka } from '@paygate/messaging';
import { hostname } from 'node:os';
import { MeteringConfig } from '../config/metering.config';
import { UsageIngestService } from './usage-ingest.service';

/** Thin Kafka edge: each batch goes to the ingest service; the offset commits after it. */
@Injectable()
export class UsageConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(UsageConsumer.name);
  private consumer?: BatchConsumer;

  constructor(
    @Inject(MeteringConfig) private readonly config: MeteringConfig,
    private readonly ingest: UsageIngestService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = new BatchConsumer(createKafka('paygate-metering', this.config.KAFKA_BROKERS), {
      groupId: this.config.USAGE_GROUP_ID,
      topic: this.config.USAGE_TOPIC,
      partitionsConsumedConcurrently: this.config.PARTITIONS_CONCURRENTLY,
      sessionTimeoutMs: this.config.CONSUMER_SESSION_TIMEOUT_MS,
      // Stable per instance, so a restarted instance fences its predecessor's open transaction.
      transactionalId: `${this.config.USAGE_GROUP_ID}-${hostname()}-${this.config.HTTP_PORT}`,
    });
    await this.consumer.start(async (messages) => {
      const { counts, deadLetters } = await this.ingest.ingest(messages);
      this.logger.debug({ ...counts, partition: messages[0].partition }, 'batch applied');
      return deadLetters;
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }
}
