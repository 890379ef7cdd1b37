import { Inject, Injectable } from '@nestjs/common';
import { RetentionPruner } from '@paygate/clock';
import { counter } from '@paygate/observability';
import { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { deadLetters } from './dead-letters.repository';

const LETTERS_PER_BATCH = 1_000;
const pruned = counter(
  'paygate_dead_letters_pruned_total',
  'Dead letters deleted from the table after DEAD_LETTER_RETENTION_HOURS',
);

/**
 * Deletes dead letters recorded more than DEAD_LETTER_RETENTION_HOURS ago, so the table (each
 * letter with up to 64 KiB of its message, for replay) holds a window of them rather than every
 * letter ever. Safe for replay: the retention covers DEDUPE_WINDOW_HOURS, and a letter replayed
 * later than that is refused as `late` again. The DLQ topic keeps its own copies. In batches of
 * a thousand (letters are large), so pruning never holds long locks against ingestion.
 */
@Injectable()
export class DeadLettersPruner extends RetentionPruner {
  protected readonly failure = 'dead letter pruning failed';
  protected readonly batchSize = LETTERS_PER_BATCH;
  protected readonly what = 'dead letters';
  protected readonly pruned = pruned;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(MeteringConfig)
    private readonly config: Pick<MeteringConfig, 'deadLetterRetentionHours'>,
  ) {
    super();
  }

  protected get intervalMs(): number {
    return 10 * 60_000;
  }

  protected forgetBatch(limit: number): Promise<number> {
    return deadLetters.forgetOlderThan(
      this.dataSource,
      this.config.deadLetterRetentionHours,
      limit,
    );
  }
}
