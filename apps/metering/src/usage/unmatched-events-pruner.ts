import { Inject, Injectable } from '@nestjs/common';
import { PeriodicTask } from '@paygate/clock';
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
export class UnmatchedEventsPruner extends PeriodicTask {
  protected readonly failure = 'unmatched event pruning failed';

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

  protected runOnce(): Promise<number> {
    return this.prune();
  }

  /** Deletes days past the retention, a batch of rows at a time; how many rows. */
  async prune(batch = ROWS_PER_BATCH): Promise<number> {
    const count = await this.inBatches(batch, async (limit) => {
      const gone = await this.unmatched.forgetOlderThan(
        this.config.unmatchedEventsRetentionDays,
        limit,
      );
      pruned.inc(gone);
      return gone;
    });
    if (count > 0) this.logger.log({ pruned: count }, 'unmatched event counts pruned');
    return count;
  }
}
