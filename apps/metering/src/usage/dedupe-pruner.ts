import { Inject, Injectable } from '@nestjs/common';
import { PeriodicTask } from '@paygate/clock';
import { counter } from '@paygate/observability';
import { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { dedupeKeys } from './dedupe-keys.repository';

const pruned = counter(
  'paygate_dedupe_keys_pruned_total',
  'Dedupe keys forgotten after the window',
);

/**
 * Forgets dedupe keys of events older than the dedupe window, in small chunks so that pruning
 * never holds long locks against ingestion. Safe because such events are refused as late
 * before they are claimed (the window is at least the late window plus the skew).
 */
@Injectable()
export class DedupePruner extends PeriodicTask {
  protected readonly failure = 'dedupe pruning failed';

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(MeteringConfig) private readonly config: MeteringConfig,
  ) {
    super();
  }

  protected get intervalMs(): number {
    return 60_000;
  }

  protected runOnce(): Promise<number> {
    return this.pruneOnce();
  }

  /** Deletes expired keys until none are left; returns how many went. */
  async pruneOnce(chunk = 10_000): Promise<number> {
    return this.inBatches(chunk, async (batch) => {
      const count = await dedupeKeys.forgetOlderThan(
        this.dataSource,
        this.config.DEDUPE_WINDOW_HOURS,
        batch,
      );
      pruned.inc(count);
      return count;
    });
  }
}
