import type { Clock } from '@paygate/clock';
import type { EntityManager } from 'typeorm';
import type { GrantsService } from './grants.service';
import type { LedgerService } from './ledger.service';

/**
 * The balance as a decision reads and takes it: after the customer's grants that came due
 * (pending and now effective, or past their expiry) are settled. Whether any did is asked by
 * the read or the take itself, in the same statement, so a decision settles (and reads or
 * takes again) only when one did: one round trip in the common case, where a separate
 * question made it two. The clock is read as each is asked, as GrantsService.settleDue reads
 * it: a decision may have waited on a lock before.
 */
export class SettledBalance {
  constructor(
    private readonly ledger: LedgerService,
    private readonly grants: GrantsService,
    private readonly clock: Clock,
  ) {}

  /** The spendable balance once due grants are settled. */
  async available(manager: EntityManager, customerId: string): Promise<number> {
    const read = await this.ledger.availableUnlessGrantDue(manager, customerId, this.clock.now());
    if (read !== 'due') return read;
    await this.grants.settleDue(manager, customerId);
    return this.ledger.available(manager, customerId);
  }

  /** Takes `credits` once due grants are settled: the balance after, or null if short. */
  async take(manager: EntityManager, customerId: string, credits: number): Promise<number | null> {
    const now = this.clock.now();
    const taken = await this.ledger.takeUnlessGrantDue(manager, customerId, credits, now);
    if (taken !== 'due') return taken;
    await this.grants.settleDue(manager, customerId);
    return this.ledger.takeIfAvailable(manager, customerId, credits);
  }
}
