import { Inject, Injectable } from '@nestjs/common';
import { Clock, PeriodicTask } from '@paygate/clock';
import { DataSource } from 'typeorm';
import { grants } from './grants.repository';
import { GrantsService } from './grants.service';

const SWEEP_INTERVAL_MS = 30_000;
const CUSTOMERS_PER_SWEEP = 500;

/**
 * Decisions and balance reads apply due grant changes themselves; this sweep makes expiries and
 * effective dates reach the ledger on time for customers nobody is looking at.
 */
@Injectable()
export class GrantSweeper extends PeriodicTask {
  protected readonly failure = 'grant sweep failed';

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly grants: GrantsService,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    super();
  }

  protected get intervalMs(): number {
    return SWEEP_INTERVAL_MS;
  }

  protected runOnce(): Promise<number> {
    return this.sweep();
  }

  /** Settles due grants customer by customer, each in its own short transaction. */
  async sweep(): Promise<number> {
    const due = await grants.customersWithDue(
      this.dataSource,
      this.clock.now(),
      CUSTOMERS_PER_SWEEP,
    );
    for (const customerId of due) {
      await this.dataSource.transaction((manager) => this.grants.settleDue(manager, customerId));
    }
    return due.length;
  }
}
