import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ConsumerHost,
  type ConsumerSetup,
  type InboundMessage,
  type OutboundMessage,
} from '@paygate/messaging';
import { histogram } from '@paygate/observability';
import { MeteringConfig } from '../config/metering.config';
import { UsageIngestService } from './usage-ingest.service';

const batchSeconds = histogram(
  'paygate_usage_batch_seconds',
  'Time to apply one consumed usage batch (classify, claim, rollups, outbox)',
  [],
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
);
const batchSize = histogram(
  'paygate_usage_batch_events',
  'Events per consumed batch',
  [],
  [1, 10, 100, 1000, 5000, 10000, 50000],
);

/** Thin Kafka edge: each batch goes to the ingest service; the offset commits after it. */
@Injectable()
export class UsageConsumer extends ConsumerHost {
  private readonly logger = new Logger(UsageConsumer.name);

  constructor(
    @Inject(MeteringConfig) private readonly config: MeteringConfig,
    private readonly ingest: UsageIngestService,
  ) {
    super();
  }

  protected consumerSetup(): ConsumerSetup {
    return {
      clientId: 'paygate-metering',
      brokers: this.config.KAFKA_BROKERS,
      options: {
        groupId: this.config.usageGroup,
        topic: this.config.usageTopic,
        partitionsConsumedConcurrently: this.config.PARTITIONS_CONCURRENTLY,
        sessionTimeoutMs: this.config.CONSUMER_SESSION_TIMEOUT_MS,
        fetchMinBytes: this.config.FETCH_MIN_BYTES,
        fetchMaxWaitMs: this.config.FETCH_MAX_WAIT_MS,
        stallMs: this.config.CONSUMER_STALL_SECONDS * 1000,
        maxChunkBytes: this.config.DEAD_LETTER_MAX_BYTES,
        // Shared by the group's instances: a partition's producer id is the same on each of them.
        transactionalIdPrefix: this.config.usageGroup,
      },
    };
  }

  protected async handle(messages: InboundMessage[]): Promise<OutboundMessage[]> {
    const stop = batchSeconds.startTimer();
    const { counts, deadLetters } = await this.ingest.ingest(messages);
    stop();
    batchSize.observe(messages.length);
    this.logger.debug({ ...counts, partition: messages[0].partition }, 'batch applied');
    return deadLetters;
  }
}
