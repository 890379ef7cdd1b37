import { Inject, Injectable } from '@nestjs/common';
import { RetentionPruner } from '@paygate/clock';
import { PgIdempotencyStore } from '@paygate/database';
import { counter } from '@paygate/observability';
import { EntitlementConfig } from '../config/entitlement.config';

const KEYS_PER_BATCH = 10_000;
const pruned = counter(
  'paygate_idempotency_keys_pruned_total',
  'Idempotency keys of the operator API forgotten after IDEMPOTENCY_KEYS_RETENTION_HOURS',
);

/**
 * Forgets the operator API's idempotency keys (each with the response it replays) once they
 * are older than IDEMPOTENCY_KEYS_RETENTION_HOURS, so the table holds a window of them rather
 * than one row per mutating request ever. A retry after that runs again, as a new request: the
 * retention (at least a day) outlasts any client's retries, and the 5 minutes after which an
 * uncompleted claim is `unfinished` many times over. In batches, so pruning never holds long
 * locks against the keys being claimed.
 */
@Injectable()
export class IdempotencyKeysPruner extends RetentionPruner {
  protected readonly failure = 'idempotency key pruning failed';
  protected readonly batchSize = KEYS_PER_BATCH;
  protected readonly what = 'idempotency keys';
  protected readonly pruned = pruned;

  constructor(
    @Inject(PgIdempotencyStore)
    private readonly store: Pick<PgIdempotencyStore, 'forgetOlderThan'>,
    @Inject(EntitlementConfig)
    private readonly config: Pick<EntitlementConfig, 'idempotencyKeysRetentionHours'>,
  ) {
    super();
  }

  protected get intervalMs(): number {
    return 10 * 60_000;
  }

  protected forgetBatch(limit: number): Promise<number> {
    return this.store.forgetOlderThan(this.config.idempotencyKeysRetentionHours, limit);
  }
}
