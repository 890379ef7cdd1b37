import { preparedQuery } from '@paygate/database';
import type { EntityManager } from 'typeorm';
import { burnCtes } from '../credits/grants.repository';
import { ledgerEntryInsert } from '../credits/ledger.repository';
import { type NewLease, heldLeaseInsert } from '../leases/leases.repository';
import { usageAdd } from '../usage/feature-usage.repository';

/** The ledger's `reserve` entry, written when the admission took credits (`credits` > 0). */
export interface ReserveEntry {
  idempotencyKey: string;
  description: string;
}

const lease = heldLeaseInsert(['$1', '$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9']);
const usage = usageAdd('$3', '$4', '$5', '$7');

/** Without credits: the lease, and its units on the period's counter. */
const WITHOUT_CREDITS = `WITH lease AS (${lease}) ${usage}`;

/**
 * With credits: also their burn from the customer's grants, remembered for the lease, and the
 * ledger's `reserve` entry. The amounts have placeholders of their own ($10 to burn, $11 the
 * entry's negative amount), so no placeholder is read as two types.
 */
const WITH_CREDITS = `WITH lease AS (${lease}),
  usage AS (${usage}),
  ${burnCtes('$2', '$10', '$1')}
  ${ledgerEntryInsert(['$2', `'reserve'`, '$11', '$12', '$1', '$13'])}`;

/**
 * The writes of one admission inside the decision's transaction, in one statement, where they
 * were four round trips: the held lease, its units added to the period's usage counter (locked
 * by FeatureUsageService.lock earlier in the transaction) and, when the lease took credits
 * (already taken from the balance by takeIfAvailable), their burn from the grants and the
 * ledger's `reserve` entry. Each part is the SQL of the repository that owns its table. Every
 * data-modifying CTE runs once and to completion whether or not anything reads it, all on the
 * snapshot from before the statement; none needs another's rows (they write different tables,
 * and nothing references a lease by foreign key), and any failing fails the statement, and so
 * the transaction, as the four statements did.
 */
export const admissionWrites = {
  async record(manager: EntityManager, held: NewLease, reserve: ReserveEntry): Promise<void> {
    const values = [
      held.id,
      held.customerId,
      held.subscriptionId,
      held.featureKey,
      held.periodStart,
      held.requestId,
      held.units,
      held.credits,
      held.beyondUnits,
    ];
    if (held.credits > 0) {
      await preparedQuery(manager, WITH_CREDITS, [
        ...values,
        held.credits,
        -held.credits,
        reserve.idempotencyKey,
        reserve.description,
      ]);
      return;
    }
    await preparedQuery(manager, WITHOUT_CREDITS, values);
  },
};
