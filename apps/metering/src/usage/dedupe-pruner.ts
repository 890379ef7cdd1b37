import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { every } from '@paygate/clock';
import { counter } from '@paygate/observability';
import { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';

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
export class DedupePruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DedupePruner.name);
  private stop?: () => void;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(MeteringConfig) private readonly config: MeteringConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.stop = every(
      60_000,
      () => this.pruneOnce(),
      (err) => this.logger.warn({ err }, 'dedupe pruning failed'),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }

  /** Deletes expired keys until none are left; returns how many went. */
  async pruneOnce(chunk = 10_000): Promise<number> {
    let total = 0;
    for (;;) {
      const [, count]: [unknown, number] = await this.dataSource.query(
        `DELETE FROM "metering"."events" WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM "metering"."events"
           WHERE "time" < now() - make_interval(hours => $1) LIMIT $2))`,
        [this.config.DEDUPE_WINDOW_HOURS, chunk],
      );
      total += count;
      pruned.inc(count);
      if (count < chunk) return total;
    }
  }
}
