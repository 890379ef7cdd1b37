import { Inject, Injectable } from '@nestjs/common';
import { RetentionPruner } from '@paygate/clock';
import { counter } from '@paygate/observability';
import { MeteringConfig } from '../config/metering.config';
import { UnmatchedEventsRepository } from './unmatched-events.repository';

const ROWS_PER_BATCH = 10_000;
const pruned = counter(
  'paygate_unmatched_events_pruned_total',
  'Rows of unmatched-event counts (one type, one day) deleted after ' +
    'UNMATCHED_EVENTS_RETENTION_DAYS',
);

/**
 * Deletes the counts of unmatched events (events no meter reads, one row per type and UTC day)
 * of days more than UNMATCHED_EVENTS_RETENTION_DAYS ago, so publishers sending made-up types
 * cannot grow the table without end. Only counts go (the events themselves were never kept);
 * the retention covers the window in which such events can still be sent again and counted.
 * Hourly: rows age by the day. In batches, so pruning never holds long locks against ingestion.
 */
@Injectable()
export class UnmatchedEventsPruner extends RetentionPruner {
  protected readonly failure = 'unmatched event pruning failed';
  protected readonly batchSize = ROWS_PER_BATCH;
  protected readonly what = 'unmatched event counts';
  protected readonly pruned = pruned;

  constructor(
    @Inject(UnmatchedEventsRepository)
    private readonly unmatched: Pick<UnmatchedEventsRepository, 'forgetOlderThan'>,
    @Inject(MeteringConfig)
    private readonly config: Pick<MeteringConfig, 'unmatchedEventsRetentionDays'>,
  ) {
    super();
  }

  protected get intervalMs(): number {
    return 60 * 60_000;
  }

  protected forgetBatch(limit: number): Promise<number> {
    return this.unmatched.forgetOlderThan(this.config.unmatchedEventsRetentionDays, limit);
  }
}
