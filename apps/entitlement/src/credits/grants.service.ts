import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { toExactInt, toSafeInt } from '@paygate/database';
import { DomainError } from '@paygate/problem-details';
import type { EntityManager } from 'typeorm';
import { EntitlementChanges } from '../changes/entitlement-changes';
import { type GrantRow, grants, leaseGrantAllocations } from './grants.repository';
import { balances } from './ledger.repository';
import { LedgerService, MAX_BALANCE } from './ledger.service';

export { GRANT_SOURCES, type GrantInput, type GrantSource } from './grant';
import type { GrantInput, GrantSource } from './grant';

export interface GrantView {
  id: string;
  customerId: string;
  source: GrantSource;
  amount: number;
  remaining: number;
  priority: number;
  effectiveAt: string;
  expiresAt: string | null;
  status: 'pending' | 'active' | 'expired';
  description: string | null;
  createdAt: string;
}

const toView = (g: GrantRow): GrantView => ({
  id: g.id,
  customerId: g.customer_id,
  source: g.source,
  amount: toSafeInt(g.amount),
  remaining: toSafeInt(g.remaining),
  priority: g.priority,
  effectiveAt: g.effective_at.toISOString(),
  expiresAt: g.expires_at ? g.expires_at.toISOString() : null,
  status: g.status,
  description: g.description,
  createdAt: g.created_at.toISOString(),
});

/**
 * Credits live in grants. Spending burns them in order (priority, earliest expiry, oldest);
 * a grant becomes spendable at its effective date and what is left of it expires, as ledger
 * entries, at its expiry. Invariant, kept under the customer's balance row lock: the stored
 * balance equals the credits remaining in active grants minus the overdraft (usage reported
 * without a lease that no grant covered), and a new grant, or credits a lease gives back,
 * pays the overdraft off first.
 */
@Injectable()
export class GrantsService {
  constructor(
    private readonly ledger: LedgerService,
    private readonly changes: EntitlementChanges,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async create(
    manager: EntityManager,
    input: GrantInput,
  ): Promise<{ grant: GrantView; replayed: boolean }> {
    const effectiveAt = input.effectiveAt ?? this.clock.now();
    const inserted = await grants.addPending(manager, { ...input, effectiveAt });
    if (!inserted) {
      const existing = await grants.byIdempotencyKey(manager, input.idempotencyKey);
      if (
        existing.customer_id !== input.customerId ||
        existing.request_hash !== (input.requestHash ?? null)
      ) {
        throw new DomainError(
          'conflict',
          'This idempotency key was already used for a different request.',
        );
      }
      return { grant: toView(existing), replayed: true };
    }
    await this.refusePastBound(manager, input.customerId, input.amount);
    await this.settleDue(manager, input.customerId);
    const current = await grants.byId(manager, inserted.id);
    return { grant: toView(current), replayed: false };
  }

  /**
   * Keeps every balance within MAX_BALANCE: under the customer's balance row lock (so two
   * concurrent grants cannot both pass), refuses a grant that would take what the balance can
   * reach (see LedgerService.committed; the new grant is already counted there as pending) past
   * the bound. A replay of a grant that was accepted never gets here, so it still answers.
   */
  private async refusePastBound(
    manager: EntityManager,
    customerId: string,
    amount: number,
  ): Promise<void> {
    await balances.lock(manager, customerId);
    const committed = await this.ledger.committed(manager, customerId);
    if (committed <= BigInt(MAX_BALANCE)) return;
    const before = committed - BigInt(amount);
    const room = BigInt(MAX_BALANCE) - before;
    const roomText = room > 0n ? room.toString() : '0';
    throw new DomainError(
      'validation-failed',
      `A grant of ${amount} credits would take the balance past the maximum of ${MAX_BALANCE} credits ` +
        `(the balance with reserved and not yet effective credits is ${before}); at most ${roomText} can be granted.`,
      {
        errors: [
          {
            field: 'amount',
            messages: [
              `must keep the balance (with reserved and not yet effective credits, now ${before}) ` +
                `at or below ${MAX_BALANCE}: at most ${roomText}`,
            ],
          },
        ],
        maxBalance: MAX_BALANCE,
        balance: toExactInt(before),
        maxGrant: toExactInt(room > 0n ? room : 0n),
      },
    );
  }

  /** Activates grants that became effective and expires those past their expiry. */
  async settleDue(manager: EntityManager, customerId: string): Promise<void> {
    const now = this.clock.now();
    const due = await grants.dueIds(manager, customerId, now);
    if (due.length === 0) return;
    await balances.lock(manager, customerId);
    for (const id of due) {
      const grant = await grants.lock(manager, id);
      if (grant.status === 'pending' && grant.effective_at <= now)
        await this.activate(manager, grant);
      if (grant.expires_at && grant.expires_at <= now) await this.expire(manager, id);
    }
  }

  /**
   * Takes `amount` credits from the customer's grants in burn order and returns how many the
   * grants covered (less than `amount` only for usage that overdraws). With a lease id, what
   * each grant gave is remembered so that a release gives it back to the same grants.
   */
  readonly burn = grants.burn;

  /**
   * Puts credits a lease gives back into the grants they came from. Credits of a grant that
   * expired meanwhile expire at once (counted in its `expired`), except an authorization's:
   * what of those did not expire at the hold's end is settled as used, so the customer paid
   * for them and keeps them. They come back, like credits with no record (leases from before
   * grants existed), as a grant of their own. A lease may give back in several steps (`step`
   * keeps each step's ledger entries apart). Called in the transaction that appended the
   * release entry for `credits`, once per step (the lease's row lock and its returned units
   * keep a replayed release from getting here again).
   *
   * Credits back in spendable grants pay off an overdraft first, as a new grant's do: else the
   * grants would hold credits the balance does not (usage that no grant covered while the lease
   * held them), and their expiry would take those from the balance a second time.
   */
  async restore(
    manager: EntityManager,
    customerId: string,
    leaseId: string,
    credits: number,
    step: string,
  ): Promise<void> {
    // Under the balance row lock, as activation and expiry: the overdraft read below must not
    // move before this transaction nets it.
    await balances.lock(manager, customerId);
    const allocations = await leaseGrantAllocations.lockOfLease(manager, leaseId);
    let left = credits;
    // Credits back in active grants (and in the returned grant), which can pay an overdraft.
    let spendable = 0;
    // Credits of ended authorizations: the customer's, in the returned grant with `left`.
    let paidFor = 0;
    for (const a of allocations) {
      if (left === 0) break;
      const amount = Math.min(left, toSafeInt(a.amount));
      left -= amount;
      await leaseGrantAllocations.reduce(manager, { leaseId, grantId: a.grantId, amount });
      const grant = await grants.lockState(manager, a.grantId);
      if (grant.status === 'active') {
        await grants.giveBack(manager, a.grantId, amount);
        spendable += amount;
      } else if (grant.source === 'authorization') {
        paidFor += amount;
      } else {
        await grants.addExpired(manager, a.grantId, amount);
        await this.ledger.append(manager, {
          customerId,
          type: 'expire',
          amount: -amount,
          idempotencyKey: `lease:${leaseId}:expire:${a.grantId}:${step}`,
          leaseId,
          description: 'returned credits of an expired grant',
        });
      }
    }
    const returned = left + paidFor;
    if (returned > 0) {
      await grants.addReturned(
        manager,
        customerId,
        returned,
        this.clock.now(),
        `lease:${leaseId}:returned:${step}`,
      );
      spendable += returned;
    }
    await this.payOffOverdraft(manager, customerId, spendable);
  }

  /**
   * Takes up to `credits` just put back into the customer's grants off them again, as much as
   * the overdraft: that usage is now covered, in burn order (as it would have been had the
   * credits been there). No ledger entry: the balance already moved by the credits in full
   * (the release entry), and it already carries the overdraft, so grants and balance agree
   * again. Under the balance row lock, after the credits went back (the overdraft is read from
   * grants and balance, which must both have them).
   */
  private async payOffOverdraft(
    manager: EntityManager,
    customerId: string,
    credits: number,
  ): Promise<void> {
    if (credits <= 0) return;
    const overdraft = toSafeInt(await grants.overdraft(manager, customerId));
    const paying = Math.min(credits, overdraft);
    if (paying > 0) await grants.burn(manager, customerId, paying);
  }

  async list(manager: EntityManager, customerId: string): Promise<GrantView[]> {
    const rows = await grants.ofCustomer(manager, customerId);
    return rows.map(toView);
  }

  private async activate(manager: EntityManager, grant: GrantRow): Promise<void> {
    const amount = toSafeInt(grant.amount);
    // Overdraft = credits in active grants − balance; a new grant pays it off first.
    const overdraft = await grants.overdraft(manager, grant.customer_id);
    const remaining = amount - Math.min(amount, toSafeInt(overdraft));
    await grants.activate(manager, grant.id, remaining);
    grant.status = 'active';
    await this.ledger.append(manager, {
      customerId: grant.customer_id,
      type: 'grant',
      amount,
      idempotencyKey: `grant:${grant.id}`,
      description: grant.description ?? `${grant.source} grant`,
    });
    await this.changes.record(manager, grant.customer_id, 'credits-granted');
  }

  private async expire(manager: EntityManager, grantId: string): Promise<void> {
    const grant = await grants.expire(manager, grantId);
    const left = toSafeInt(grant.remaining);
    if (left > 0) {
      await this.ledger.append(manager, {
        customerId: grant.customer_id,
        type: 'expire',
        amount: -left,
        idempotencyKey: `grant:${grantId}:expire`,
        description: 'grant expired',
      });
    }
  }
}
