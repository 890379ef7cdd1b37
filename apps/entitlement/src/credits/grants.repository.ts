import type { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '@paygate/database';
import { tables } from '../database/schema';
import type { GrantInput, GrantSource } from './grant';

/** A grant as stored (see the Grants migration for the columns). */
export interface GrantRow {
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

/**
 * The CTEs of a burn (see grants.burn), for a statement of its own or one that writes more:
 * `amount` credits taken from the customer's spendable grants in burn order (each locked, in
 * that order), `taken` (id, take) naming what each gave, remembered for the lease when `lease`
 * is not null. The arguments are the statement's placeholders; `when`, a condition without
 * row references, keeps the grants from being read or locked at all unless it holds (a
 * statement that may burn nothing must not lock grants it does not burn).
 */
export const burnCtes = (customer: string, amount: string, lease: string, when = 'true') => `
  spendable AS (
    SELECT "id", "remaining", "priority", "expires_at", "created_at" FROM ${tables.grants}
    WHERE "customer_id" = ${customer} AND "status" = 'active' AND "remaining" > 0 AND ${when}
    ORDER BY "priority", "expires_at" NULLS LAST, "created_at", "id" FOR UPDATE),
  planned AS (
    SELECT "id", LEAST("remaining",
             GREATEST(0, ${amount}::numeric - (SUM("remaining") OVER burn_order - "remaining")))::bigint AS "take"
    FROM spendable
    WINDOW burn_order AS (ORDER BY "priority", "expires_at" NULLS LAST, "created_at", "id"
                          ROWS UNBOUNDED PRECEDING)),
  taken AS (
    UPDATE ${tables.grants} g SET "remaining" = g."remaining" - p."take"
    FROM planned p WHERE g."id" = p."id" AND p."take" > 0
    RETURNING g."id", p."take"),
  allocated AS (
    INSERT INTO ${tables.lease_grant_allocations} ("lease_id", "grant_id", "amount")
    SELECT ${lease}::uuid, "id", "take" FROM taken WHERE ${lease}::uuid IS NOT NULL)`;

/** A grant to add: what was asked, with the date it takes effect settled. */
export type NewGrant = GrantInput & { effectiveAt: Date };

/** Credits a grant gave a lease. */
export interface GrantAllocation {
  leaseId: string;
  grantId: string;
  amount: number;
}

/**
 * A grant of the customer (SQL placeholder or expression) that came due by `now`: pending and
 * now effective, or past its expiry and not yet expired. GrantsService.settleDue acts on these;
 * the decision's balance statements ask whether there are any (balances.takeUnlessGrantDue).
 */
export const grantDue = (customer: string, now: string) =>
  `"customer_id" = ${customer} AND "status" <> 'expired'
     AND (("status" = 'pending' AND "effective_at" <= ${now}) OR "expires_at" <= ${now})`;

/** The SQL of grants: the credits a customer holds, burnt in order and expiring. */
export const grants = {
  /**
   * Adds a pending grant (it becomes active when settled), once per idempotency key: the new
   * row, or undefined when the key was already used.
   */
  async addPending(manager: EntityManager, grant: NewGrant): Promise<GrantRow | undefined> {
    const [inserted]: GrantRow[] = await manager.query(
      `INSERT INTO ${tables.grants} ("customer_id", "source", "amount", "remaining", "priority",
         "effective_at", "expires_at", "status", "idempotency_key", "request_hash", "description")
       VALUES ($1, $2, $3, 0, $4, $5, $6, 'pending', $7, $8, $9)
       ON CONFLICT ("idempotency_key") DO NOTHING RETURNING *`,
      [
        grant.customerId,
        grant.source,
        grant.amount,
        grant.priority ?? 100,
        grant.effectiveAt,
        grant.expiresAt ?? null,
        grant.idempotencyKey,
        grant.requestHash ?? null,
        grant.description ?? null,
      ],
    );
    return inserted;
  },

  /** A credit a lease gave back with no grant to take it, as an active grant of its own. */
  async addReturned(
    manager: EntityManager,
    customerId: string,
    amount: number,
    effectiveAt: Date,
    idempotencyKey: string,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO ${tables.grants} ("customer_id", "source", "amount", "remaining", "effective_at",
         "status", "idempotency_key", "description")
       VALUES ($1, 'returned', $2, $2, $3, 'active', $4, 'credits returned by a lease')`,
      [customerId, amount, effectiveAt, idempotencyKey],
    );
  },

  async byIdempotencyKey(manager: EntityManager, idempotencyKey: string): Promise<GrantRow> {
    const [grant]: GrantRow[] = await manager.query(
      `SELECT * FROM ${tables.grants} WHERE "idempotency_key" = $1`,
      [idempotencyKey],
    );
    return grant;
  },

  async byId(manager: EntityManager, id: string): Promise<GrantRow> {
    const [grant]: GrantRow[] = await manager.query(
      `SELECT * FROM ${tables.grants} WHERE "id" = $1`,
      [id],
    );
    return grant;
  },

  /** Locks the grant's row for the rest of the transaction. */
  async lock(manager: EntityManager, id: string): Promise<GrantRow> {
    const [grant]: GrantRow[] = await manager.query(
      `SELECT * FROM ${tables.grants} WHERE "id" = $1 FOR UPDATE`,
      [id],
    );
    return grant;
  },

  /** Locks the grant's row and reads what giving credits back to it depends on. */
  async lockState(
    manager: EntityManager,
    id: string,
  ): Promise<{ status: string; source: GrantSource }> {
    const [grant]: { status: string; source: GrantSource }[] = await manager.query(
      `SELECT "status", "source" FROM ${tables.grants} WHERE "id" = $1 FOR UPDATE`,
      [id],
    );
    return grant;
  },

  /** The customer's grants that became effective or expired, by effective date. */
  async dueIds(manager: EntityManager, customerId: string, now: Date): Promise<string[]> {
    const due: { id: string }[] = await preparedQuery(
      manager,
      `SELECT "id" FROM ${tables.grants} WHERE ${grantDue('$1', '$2')} ORDER BY "effective_at", "id"`,
      [customerId, now],
    );
    return due.map(({ id }) => id);
  },

  /** Up to `limit` customers with a grant that became effective or expired. */
  async customersWithDue(
    runner: EntityManager | DataSource,
    now: Date,
    limit: number,
  ): Promise<string[]> {
    const due: { customer_id: string }[] = await runner.query(
      `SELECT DISTINCT "customer_id" FROM ${tables.grants}
       WHERE "status" <> 'expired' AND (("status" = 'pending' AND "effective_at" <= $1) OR "expires_at" <= $1)
       LIMIT $2`,
      [now, limit],
    );
    return due.map(({ customer_id }) => customer_id);
  },

  /**
   * Takes `amount` credits from the customer's spendable grants in burn order (each locked, in
   * that order), remembers what each gave to the lease if there is one, and returns how many
   * they covered. One statement: a grant takes what the grants before it in burn order left.
   */
  async burn(
    manager: EntityManager,
    customerId: string,
    amount: number,
    leaseId?: string,
  ): Promise<number> {
    const [row]: { taken: string }[] = await preparedQuery(
      manager,
      `WITH ${burnCtes('$1', '$2', '$3')}
       SELECT COALESCE(SUM("take"), 0)::text AS "taken" FROM taken`,
      [customerId, amount, leaseId ?? null],
    );
    return Number(row.taken);
  },

  async giveBack(manager: EntityManager, id: string, amount: number): Promise<void> {
    await manager.query(
      `UPDATE ${tables.grants} SET "remaining" = "remaining" + $2 WHERE "id" = $1`,
      [id, amount],
    );
  },

  /** Counts credits given back to a grant that already expired as expired with it. */
  async addExpired(manager: EntityManager, id: string, amount: number): Promise<void> {
    await manager.query(`UPDATE ${tables.grants} SET "expired" = "expired" + $2 WHERE "id" = $1`, [
      id,
      amount,
    ]);
  },

  /** Every grant of the customer, the expired ones last, the rest in burn order. */
  ofCustomer(manager: EntityManager, customerId: string): Promise<GrantRow[]> {
    return manager.query(
      `SELECT * FROM ${tables.grants} WHERE "customer_id" = $1
       ORDER BY "status" = 'expired', "priority", "expires_at" NULLS LAST, "created_at", "id"`,
      [customerId],
    );
  },

  /** Overdraft = credits in active grants − balance (never below 0). */
  async overdraft(manager: EntityManager, customerId: string): Promise<string> {
    const [{ overdraft }]: { overdraft: string }[] = await manager.query(
      `SELECT GREATEST(0, COALESCE((SELECT SUM("remaining") FROM ${tables.grants}
                 WHERE "customer_id" = $1 AND "status" = 'active'), 0)
               - COALESCE((SELECT "available" FROM ${tables.balances} WHERE "customer_id" = $1), 0)) AS "overdraft"`,
      [customerId],
    );
    return overdraft;
  },

  async activate(manager: EntityManager, id: string, remaining: number): Promise<void> {
    await manager.query(
      `UPDATE ${tables.grants} SET "status" = 'active', "remaining" = $2 WHERE "id" = $1`,
      [id, remaining],
    );
  },

  /** Expires the grant; returns its customer and the credits it had left. */
  async expire(
    manager: EntityManager,
    id: string,
  ): Promise<{ customer_id: string; remaining: string }> {
    const [grant]: { customer_id: string; remaining: string }[] = await manager.query(
      `WITH expired AS (
         UPDATE ${tables.grants} g
         SET "status" = 'expired', "remaining" = 0, "expired" = g."expired" + old."remaining"
         FROM (SELECT "id", "remaining" FROM ${tables.grants} WHERE "id" = $1) old
         WHERE g."id" = old."id" RETURNING g."customer_id", old."remaining"
       ) SELECT * FROM expired`,
      [id],
    );
    return grant;
  },
};

/** The SQL of lease_grant_allocations: what each grant gave a lease, to give it back there. */
export const leaseGrantAllocations = {
  /** Locks the lease's allocations, by grant. */
  async lockOfLease(
    manager: EntityManager,
    leaseId: string,
  ): Promise<{ grantId: string; amount: string }[]> {
    const rows: { grant_id: string; amount: string }[] = await manager.query(
      `SELECT "grant_id", "amount" FROM ${tables.lease_grant_allocations}
       WHERE "lease_id" = $1 ORDER BY "grant_id" FOR UPDATE`,
      [leaseId],
    );
    return rows.map((row) => ({ grantId: row.grant_id, amount: row.amount }));
  },

  /** Takes `amount` off an allocation, deleting it when that is all of it. */
  async reduce(manager: EntityManager, allocation: GrantAllocation): Promise<void> {
    await manager.query(
      `WITH taken AS (
         UPDATE ${tables.lease_grant_allocations} SET "amount" = "amount" - $3
         WHERE "lease_id" = $1 AND "grant_id" = $2 AND "amount" > $3 RETURNING 1
       ) DELETE FROM ${tables.lease_grant_allocations}
         WHERE "lease_id" = $1 AND "grant_id" = $2 AND "amount" = $3 AND NOT EXISTS (SELECT 1 FROM taken)`,
      [allocation.leaseId, allocation.grantId, allocation.amount],
    );
  },
};
