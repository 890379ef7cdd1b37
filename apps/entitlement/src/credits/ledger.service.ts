import { Inject, Injectable } from '@nestjs/common';
import { type ExactInt, MAX_EXACT_INT, toExactInt, toSafeInt } from '@paygate/database';
import { DomainError } from '@paygate/problem-details';
import { DataSource, EntityManager } from 'typeorm';
import { balances, type LedgerRow, ledgerEntries } from './ledger.repository';

export type { LedgerEntryInput, LedgerEntryType } from './ledger-entry';
import type { LedgerEntryInput, LedgerEntryType } from './ledger-entry';

/**
 * The documented bound on a customer's credits: 2^53 − 1, the largest integer a JSON number
 * carries exactly. A grant that would take the balance (with reserved credits and grants not
 * yet effective, which can come back into it) past the bound is refused with a 400, so balances
 * stay exact JSON numbers; anything past it that is already stored is read exactly, as a string.
 */
export const MAX_BALANCE = MAX_EXACT_INT;

export interface LedgerEntryView {
  id: number;
  type: LedgerEntryType;
  /** Signed; a JSON number, or an exact decimal string past ±(2^53 − 1). */
  amount: ExactInt;
  idempotencyKey: string;
  leaseId: string | null;
  description: string | null;
  createdAt: string;
}

/** The balance as numbers for display and decisions; past ±(2^53 − 1) they saturate. */
export interface BalanceView {
  customerId: string;
  /** Credits that can be spent now (reserved credits already taken out). */
  available: number;
  /** Credits held by open leases. */
  reserved: number;
}

/**
 * The balance as the API answers it: exact, JSON numbers within ±(2^53 − 1) (always, while
 * grants respect MAX_BALANCE) and decimal strings beyond (ledger data from before the bound, or
 * usage overdrawing by more than 2^53 − 1).
 */
export interface ExactBalanceView {
  customerId: string;
  available: ExactInt;
  reserved: ExactInt;
}

const toView = (r: LedgerRow): LedgerEntryView => ({
  id: toSafeInt(r.id),
  type: r.type,
  amount: toExactInt(r.amount),
  idempotencyKey: r.idempotency_key,
  leaseId: r.lease_id,
  description: r.description,
  createdAt: new Date(r.created_at).toISOString(),
});

/**
 * The append-only ledger and its balance projection. Every change of a balance is an entry
 * with an idempotency key, written in the same transaction as the projection update.
 */
@Injectable()
export class LedgerService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * Appends an entry and moves the balance, once per idempotency key. A replay with the same
   * key and request hash returns the first entry; the same key with another hash is a conflict.
   */
  async append(
    manager: EntityManager,
    entry: LedgerEntryInput,
  ): Promise<{ entry: LedgerEntryView; replayed: boolean }> {
    const inserted = await ledgerEntries.appendOnce(manager, entry);
    if (inserted) {
      await balances.add(manager, entry.customerId, entry.amount);
      return { entry: toView(inserted), replayed: false };
    }
    const existing = await ledgerEntries.byIdempotencyKey(manager, entry.idempotencyKey);
    if (
      existing.customer_id !== entry.customerId ||
      (entry.requestHash !== undefined && existing.request_hash !== entry.requestHash)
    ) {
      throw new DomainError(
        'conflict',
        'This idempotency key was already used for a different request.',
        {
          idempotencyKey: entry.idempotencyKey,
        },
      );
    }
    return { entry: toView(existing), replayed: true };
  }

  /**
   * Takes `amount` credits only if the balance covers it, atomically (a conditional update on
   * the balance row, so concurrent reservations can never drive it below zero).
   * Returns the balance after the take, or null when it does not cover the amount.
   */
  async takeIfAvailable(
    manager: EntityManager,
    customerId: string,
    amount: number,
  ): Promise<number | null> {
    const after = await balances.takeIfAvailable(manager, customerId, amount);
    return after === undefined ? null : toSafeInt(after);
  }

  /**
   * takeIfAvailable, unless a grant of the customer came due by `now`: then nothing is taken
   * and the answer is 'due' (settle the grants, then take). One statement for both.
   */
  async takeUnlessGrantDue(
    manager: EntityManager,
    customerId: string,
    amount: number,
    now: Date,
  ): Promise<number | null | 'due'> {
    const { due, after } = await balances.takeUnlessGrantDue(manager, customerId, amount, now);
    if (due) return 'due';
    return after === undefined ? null : toSafeInt(after);
  }

  /** available, unless a grant of the customer came due by `now` ('due'). One statement. */
  async availableUnlessGrantDue(
    manager: EntityManager,
    customerId: string,
    now: Date,
  ): Promise<number | 'due'> {
    const { due, available } = await balances.availableUnlessGrantDue(manager, customerId, now);
    return due ? 'due' : toSafeInt(available);
  }

  /**
   * The spendable balance as a number for decisions. Never throws: past ±(2^53 − 1) (possible
   * only with data from before MAX_BALANCE, or usage overdrawing by more) it saturates at the
   * bound, which decides every safe-integer cost the same way as the exact value.
   */
  async available(manager: EntityManager, customerId: string): Promise<number> {
    return toSafeInt(await balances.available(manager, customerId));
  }

  /** For display (the billing page); numbers saturate past ±(2^53 − 1), see available(). */
  async balance(customerId: string): Promise<BalanceView> {
    const { available, reserved } = await this.balanceText(customerId);
    return { customerId, available: toSafeInt(available), reserved: toSafeInt(reserved) };
  }

  /** For the API: exact whatever the size (numbers, or decimal strings past the bound). */
  async exactBalance(customerId: string): Promise<ExactBalanceView> {
    const { available, reserved } = await this.balanceText(customerId);
    return { customerId, available: toExactInt(available), reserved: toExactInt(reserved) };
  }

  /**
   * One statement, so one snapshot: a lease given back between two separate reads would show
   * its credits in neither `available` nor `reserved` (or in both).
   */
  private async balanceText(customerId: string): Promise<{ available: string; reserved: string }> {
    return balances.withReserved(this.dataSource, customerId);
  }

  /**
   * What the customer's balance could reach without a new grant: the balance, the credits
   * open leases may give back, and grants that are not effective yet. Exact (Postgres numeric).
   * Read under the balance row lock by GrantsService to keep every balance within MAX_BALANCE.
   */
  async committed(manager: EntityManager, customerId: string): Promise<bigint> {
    return BigInt(await balances.committed(manager, customerId));
  }

  async history(customerId: string, limit: number, beforeId?: number): Promise<LedgerEntryView[]> {
    const rows = await ledgerEntries.page(this.dataSource, customerId, limit, beforeId);
    return rows.map(toView);
  }

  /**
   * Rewrites every stored balance from the ledger, under a lock that holds off concurrent
   * balance changes, and returns the rows it had to correct.
   */
  async rebuild(): Promise<{ customerId: string; stored: ExactInt; ledger: ExactInt }[]> {
    return this.dataSource.transaction(async (manager) => {
      await balances.lockAll(manager);
      const drift = await this.findDrift(manager);
      await balances.rebuildFromLedger(manager);
      return drift;
    });
  }

  /** Customers whose stored balance differs from the sum of their ledger (should be none). */
  async findDrift(
    manager: EntityManager = this.dataSource.manager,
  ): Promise<{ customerId: string; stored: ExactInt; ledger: ExactInt }[]> {
    const rows = await balances.drift(manager);
    return rows.map((r) => ({
      customerId: r.customer_id,
      stored: toExactInt(r.stored),
      ledger: toExactInt(r.ledger),
    }));
  }
}
