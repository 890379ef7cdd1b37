import { Inject, Injectable } from '@nestjs/common';
import { Clock, PeriodicTask } from '@paygate/clock';
import { DataSource } from 'typeorm';
import { concurrencyHolds } from './concurrency-holds.repository';

/** How often holds are pruned, and how long after it expired a hold is kept. */
export const CONCURRENCY_HOLD_PRUNE_MS = 60_000;
const HOLDS_PER_BATCH = 1000;

/**
 * Deletes concurrency holds once they expired (see HoldConcurrencyUseCase): mostly those of
 * gateways that stopped without giving their slots back. An expired hold already counts for
 * nothing, so this only keeps the table small; the minute's grace spares rows whose holder,
 * a little late, is about to set them again.
 */
@Injectable()
export class ConcurrencyHoldPruner extends PeriodicTask {
  protected readonly failure = 'concurrency hold pruning failed';

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    super();
  }

  protected get intervalMs(): number {
    return CONCURRENCY_HOLD_PRUNE_MS;
  }

  protected runOnce(): Promise<number> {
    return this.prune();
  }

  /** Deletes holds that expired over a minute ago, a batch at a time; how many. */
  async prune(): Promise<number> {
    const expiredBefore = new Date(this.clock.now().getTime() - CONCURRENCY_HOLD_PRUNE_MS);
    const pruned = await this.inBatches(HOLDS_PER_BATCH, (batch) =>
      concurrencyHolds.prune(this.dataSource.manager, expiredBefore, batch),
    );
    if (pruned > 0) this.logger.log({ pruned }, 'expired concurrency holds pruned');
    return pruned;
  }
}
