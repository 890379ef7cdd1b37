import { Inject, Injectable } from '@nestjs/common';
import { Clock, PeriodicTask } from '@paygate/clock';
import { DataSource } from 'typeorm';
import { rateWindows } from './rate-windows.repository';

/** How often windows are pruned, and how long after its end a window is kept. */
export const RATE_WINDOW_PRUNE_MS = 60_000;
const WINDOWS_PER_BATCH = 1000;

/**
 * Deletes shared rate-limit windows once they are over (see TakeRateWindowUseCase): a minute
 * after their end, so a gateway whose clock is a little behind still finds the window it takes
 * from rather than starting it again.
 */
@Injectable()
export class RateWindowPruner extends PeriodicTask {
  protected readonly failure = 'rate window pruning failed';

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    super();
  }

  protected get intervalMs(): number {
    return RATE_WINDOW_PRUNE_MS;
  }

  protected runOnce(): Promise<number> {
    return this.prune();
  }

  /** Deletes windows that ended over a minute ago, a batch at a time; how many. */
  async prune(): Promise<number> {
    const endedBefore = new Date(this.clock.now().getTime() - RATE_WINDOW_PRUNE_MS);
    const pruned = await this.inBatches(WINDOWS_PER_BATCH, (batch) =>
      rateWindows.prune(this.dataSource.manager, endedBefore, batch),
    );
    if (pruned > 0) this.logger.log({ pruned }, 'ended rate windows pruned');
    return pruned;
  }
}
