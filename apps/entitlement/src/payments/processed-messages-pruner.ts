import { Inject, Injectable } from '@nestjs/common';
import { RetentionPruner } from '@paygate/clock';
import { counter } from '@paygate/observability';
import { DataSource } from 'typeorm';
import { EntitlementConfig } from '../config/entitlement.config';
import { processedMessages } from './processed-messages.repository';

const CLAIMS_PER_BATCH = 10_000;
const pruned = counter(
  'paygate_processed_messages_pruned_total',
  'Claims of processed messages forgotten after PROCESSED_MESSAGES_RETENTION_HOURS',
);

/**
 * Forgets the claims of processed messages (a `usage.recorded` message each, and each
 * give-back to a closed lease) once they are older than PROCESSED_MESSAGES_RETENTION_HOURS,
 * so the table holds a window of them rather than one row per message ever. A message
 * delivered again after its claim went would be applied again: the retention must outlast
 * every way one comes back (the topic's retention, a consumer group reset to its start, a
 * give-back retried, 10 minutes at most), which its default of 30 days does against Kafka's
 * defaults (up to 14 days: 7 of retention from the end of a segment rolled weekly).
 * Payments' claims are kept (see forgetOlderThan). In batches, so pruning never holds long
 * locks against the claims being made.
 */
@Injectable()
export class ProcessedMessagesPruner extends RetentionPruner {
  protected readonly failure = 'processed message pruning failed';
  protected readonly batchSize = CLAIMS_PER_BATCH;
  protected readonly what = 'processed message claims';
  protected readonly pruned = pruned;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(EntitlementConfig)
    private readonly config: Pick<EntitlementConfig, 'PROCESSED_MESSAGES_RETENTION_HOURS'>,
  ) {
    super();
  }

  protected get intervalMs(): number {
    return 10 * 60_000;
  }

  protected forgetBatch(limit: number): Promise<number> {
    return processedMessages.forgetOlderThan(
      this.dataSource.manager,
      this.config.PROCESSED_MESSAGES_RETENTION_HOURS,
      limit,
    );
  }
}
