import type { EntityManager } from 'typeorm';
import type { GrantsService } from './grants.service';
import type { LedgerService } from './ledger.service';

/**
 * The balance as a decision reads and takes it: after the customer's grants that came due by
 * `now` (pending and now effective, or past their expiry) are settled. Whether any did is
 * asked by the read or the take itself, in the same statement, so a decision settles (and
 * reads or takes again) only when one did: one round trip in the common case, where a
 * separate question made it two.
 */
export const settledBalance = {
  /** The spendable balance once due grants are settled. */
  async available(
    ledger: LedgerService,
    grants: GrantsService,
    manager: EntityManager,
    customerId: string,
    now: Date,
  ): Promise<number> {
    const read = await ledger.availableUnlessGrantDue(manager, customerId, now);
    if (read !== 'due') return read;
    await grants.settleDue(manager, customerId);
    return ledger.available(manager, customerId);
  },

  /**
   * Takes `credits` once due grants are settled: the balance after, or null when it does not
   * cover them.
   */
  async take(
    ledger: LedgerService,
    grants: GrantsService,
    manager: EntityManager,
    customerId: string,
    credits: number,
    now: Date,
  ): Promise<number | null> {
    const taken = await ledger.takeUnlessGrantDue(manager, customerId, credits, now);
    if (taken !== 'due') return taken;
    await grants.settleDue(manager, customerId);
    return ledger.takeIfAvailable(manager, customerId, credits);
  },
};
