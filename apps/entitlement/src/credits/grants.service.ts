import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { toExactInt, toSafeInt } from '@paygate/database';
import { DomainError } from '@paygate/problem-details';
import type { EntityManager } from 'typeorm';
import { EntitlementChanges } from '../changes/entitlement-changes';
import { LedgerService, MAX_BALANCE } from './ledger.service';

export const GRANT_SOURCES = ['purchase', 'promotional', 'manual'] as const;
/**
 * Besides what operators grant: 'migrated' (credits from before grants), 'returned' (credits a
 * lease gave back with no grant to take them) and 'authorization' (an `upto` payment's credits,
 * spendable until its hold ends; see RecordPaymentUseCase).
 */
export type GrantSource =
  (typeof GRANT_SOURCES)[number] | 'migrated' | 'returned' | 'authorization';

export interface GrantInput {
  customerId: string;
  amount: number;
  source: GrantSource;
  priority?: number;
  effectiveAt?: Date;
  expiresAt?: Date;
  idempotencyKey: string;
  requestHash?: string;
  description?: string;
}

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

interface GrantRow {
  id: string;
  customer_id: string;
  source: GrantSource;
  amount: string;
  remaining: string;
  priority: number;
  effective_at: Date;
  expires_at: Date | null;
  status: 'pending' | 'active' | 'expired';
  request_hash: string | null;
  description: string | null;
  created_at: Date;
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
 * without a lease that no grant covered), and a new grant pays the overdraft off first.
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
    const [inserted]: GrantRow[] = await manager.query(
      `INSERT INTO "entitlement"."grants" ("customer_id", "source", "amount", "remaining", "priority",
         "effective_at", "expires_at", "status", "idempotency_key", "request_hash", "description")
       VALUES ($1, $2, $3, 0, $4, $5, $6, 'pending', $7, $8, $9)
       ON CONFLICT ("idempotency_key") DO NOTHING RETURNING *`,
      [
        input.customerId,
        input.source,
        input.amount,
        input.priority ?? 100,
        effectiveAt,
        input.expiresAt ?? null,
        input.idempotencyKey,
        input.requestHash ?? null,
        input.description ?? null,
      ],
    );
    if (!inserted) {
      const [existing]: GrantRow[] = await manager.query(
        `SELECT * FROM "entitlement"."grants" WHERE "idempotency_key" = $1`,
        [input.idempotencyKey],
      );
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
    const [current]: GrantRow[] = await manager.query(
      `SELECT * FROM "entitlement"."grants" WHERE "id" = $1`,
      [inserted.id],
    );
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
    await this.lockBalance(manager, customerId);
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
    const due: { id: string }[] = await manager.query(
      `SELECT "id" FROM "entitlement"."grants"
       WHERE "customer_id" = $1 AND "status" <> 'expired'
         AND (("status" = 'pending' AND "effective_at" <= $2) OR "expires_at" <= $2)
       ORDER BY "effective_at", "id"`,
      [customerId, now],
    );
    if (due.length === 0) return;
    await this.lockBalance(manager, customerId);
    for (const { id } of due) {
      const [grant]: GrantRow[] = await manager.query(
        `SELECT * FROM "entitlement"."grants" WHERE "id" = $1 FOR UPDATE`,
        [id],
      );
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
  async burn(
    manager: EntityManager,
    customerId: string,
    amount: number,
    leaseId?: string,
  ): Promise<number> {
    const grants: { id: string; remaining: string }[] = await manager.query(
      `SELECT "id", "remaining" FROM "entitlement"."grants"
       WHERE "customer_id" = $1 AND "status" = 'active' AND "remaining" > 0
       ORDER BY "priority", "expires_at" NULLS LAST, "created_at", "id" FOR UPDATE`,
      [customerId],
    );
    let left = amount;
    for (const g of grants) {
      if (left === 0) break;
      const take = Math.min(left, toSafeInt(g.remaining));
      left -= take;
      await manager.query(
        `UPDATE "entitlement"."grants" SET "remaining" = "remaining" - $2 WHERE "id" = $1`,
        [g.id, take],
      );
      if (leaseId) {
        await manager.query(
          `INSERT INTO "entitlement"."lease_grant_allocations" ("lease_id", "grant_id", "amount") VALUES ($1, $2, $3)`,
          [leaseId, g.id, take],
        );
      }
    }
    return amount - left;
  }

  /**
   * Puts credits a lease gives back into the grants they came from. Credits of a grant that
   * expired meanwhile expire at once (counted in its `expired`), except an authorization's:
   * what of those did not expire at the hold's end is settled as used, so the customer paid
   * for them and keeps them. They come back, like credits with no record (leases from before
   * grants existed), as a grant of their own. A lease may give back in several steps (`step`
   * keeps each step's ledger entries apart).
   */
  async restore(
    manager: EntityManager,
    customerId: string,
    leaseId: string,
    credits: number,
    step: string,
  ): Promise<void> {
    const allocations: { grant_id: string; amount: string }[] = await manager.query(
      `SELECT "grant_id", "amount" FROM "entitlement"."lease_grant_allocations"
       WHERE "lease_id" = $1 ORDER BY "grant_id" FOR UPDATE`,
      [leaseId],
    );
    let left = credits;
    // Credits of ended authorizations: the customer's, in the returned grant with `left`.
    let paidFor = 0;
    for (const a of allocations) {
      if (left === 0) break;
      const amount = Math.min(left, toSafeInt(a.amount));
      left -= amount;
      await manager.query(
        `WITH taken AS (
           UPDATE "entitlement"."lease_grant_allocations" SET "amount" = "amount" - $3
           WHERE "lease_id" = $1 AND "grant_id" = $2 AND "amount" > $3 RETURNING 1
         ) DELETE FROM "entitlement"."lease_grant_allocations"
           WHERE "lease_id" = $1 AND "grant_id" = $2 AND "amount" = $3 AND NOT EXISTS (SELECT 1 FROM taken)`,
        [leaseId, a.grant_id, amount],
      );
      const [grant]: { status: string; source: GrantSource }[] = await manager.query(
        `SELECT "status", "source" FROM "entitlement"."grants" WHERE "id" = $1 FOR UPDATE`,
        [a.grant_id],
      );
      if (grant.status === 'active') {
        await manager.query(
          `UPDATE "entitlement"."grants" SET "remaining" = "remaining" + $2 WHERE "id" = $1`,
          [a.grant_id, amount],
        );
      } else if (grant.source === 'authorization') {
        paidFor += amount;
      } else {
        await manager.query(
          `UPDATE "entitlement"."grants" SET "expired" = "expired" + $2 WHERE "id" = $1`,
          [a.grant_id, amount],
        );
        await this.ledger.append(manager, {
          customerId,
          type: 'expire',
          amount: -amount,
          idempotencyKey: `lease:${leaseId}:expire:${a.grant_id}:${step}`,
          leaseId,
          description: 'returned credits of an expired grant',
        });
      }
    }
    const returned = left + paidFor;
    if (returned > 0) {
      await manager.query(
        `INSERT INTO "entitlement"."grants" ("customer_id", "source", "amount", "remaining", "effective_at",
           "status", "idempotency_key", "description")
         VALUES ($1, 'returned', $2, $2, $3, 'active', $4, 'credits returned by a lease')`,
        [customerId, returned, this.clock.now(), `lease:${leaseId}:returned:${step}`],
      );
    }
  }

  async list(manager: EntityManager, customerId: string): Promise<GrantView[]> {
    const rows: GrantRow[] = await manager.query(
      `SELECT * FROM "entitlement"."grants" WHERE "customer_id" = $1
       ORDER BY "status" = 'expired', "priority", "expires_at" NULLS LAST, "created_at", "id"`,
      [customerId],
    );
    return rows.map(toView);
  }

  private async activate(manager: EntityManager, grant: GrantRow): Promise<void> {
    const amount = toSafeInt(grant.amount);
    // Overdraft = credits in active grants − balance; a new grant pays it off first.
    const [{ overdraft }]: { overdraft: string }[] = await manager.query(
      `SELECT GREATEST(0, COALESCE((SELECT SUM("remaining") FROM "entitlement"."grants"
                 WHERE "customer_id" = $1 AND "status" = 'active'), 0)
               - COALESCE((SELECT "available" FROM "entitlement"."balances" WHERE "customer_id" = $1), 0)) AS "overdraft"`,
      [grant.customer_id],
    );
    const remaining = amount - Math.min(amount, toSafeInt(overdraft));
    await manager.query(
      `UPDATE "entitlement"."grants" SET "status" = 'active', "remaining" = $2 WHERE "id" = $1`,
      [grant.id, remaining],
    );
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
    const [grant]: { customer_id: string; remaining: string }[] = await manager.query(
      `WITH expired AS (
         UPDATE "entitlement"."grants" g
         SET "status" = 'expired', "remaining" = 0, "expired" = g."expired" + old."remaining"
         FROM (SELECT "id", "remaining" FROM "entitlement"."grants" WHERE "id" = $1) old
         WHERE g."id" = old."id" RETURNING g."customer_id", old."remaining"
       ) SELECT * FROM expired`,
      [grantId],
    );
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

  /** The balance row lock orders every credit change of one customer (see LedgerService). */
  private async lockBalance(manager: EntityManager, customerId: string): Promise<void> {
    await manager.query(
      `INSERT INTO "entitlement"."balances" ("customer_id", "available") VALUES ($1, 0) ON CONFLICT DO NOTHING`,
      [customerId],
    );
    await manager.query(
      `SELECT 1 FROM "entitlement"."balances" WHERE "customer_id" = $1 FOR UPDATE`,
      [customerId],
    );
  }
}
