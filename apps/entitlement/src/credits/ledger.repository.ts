import { preparedQuery, toBigInt } from '@paygate/database';
import type { DataSource, EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import { grantDue } from './grants.repository';
import type { LedgerEntryInput, LedgerEntryType } from './ledger-entry';

/** A ledger entry as stored (see the Ledger migration for the columns). */
export interface LedgerRow {
  id: string;
  customer_id: string;
  type: LedgerEntryType;
  amount: string;
  idempotency_key: string;
  request_hash: string | null;
  lease_id: string | null;
  description: string | null;
  created_at: Date;
}

/**
 * Credits of open lease units (neither settled by usage nor given back). Returned units refund
 * the credit-paid part first, so that part shrinks with "returned". Numeric, so it never
 * overflows.
 */
const RESERVED_SQL = `COALESCE(SUM(("credits" / "beyond_units")::numeric * LEAST(
    "units" - "consumed" - "returned",
    "beyond_units" - LEAST("returned", "beyond_units"))), 0)`;

/**
 * The INSERT of one ledger entry (ledgerEntries.append), for a statement of its own or one
 * that writes more: the placeholders (or expressions) of customer_id, type, amount,
 * idempotency_key, lease_id and description, in that order. With `from`, one entry per row it
 * yields (see heldLeaseInsert).
 */
export const ledgerEntryInsert = (
  values: readonly string[],
  from?: string,
) => `INSERT INTO ${tables.ledger_entries}
  ("customer_id", "type", "amount", "idempotency_key", "lease_id", "description")
  ${from ? `SELECT ${values.join(', ')} FROM ${from}` : `VALUES (${values.join(', ')})`}`;

/** The SQL of the append-only ledger (ledger_entries). */
export const ledgerEntries = {
  /** Appends the entry once per idempotency key: the new row, or undefined on a used key. */
  async appendOnce(
    manager: EntityManager,
    entry: LedgerEntryInput,
  ): Promise<LedgerRow | undefined> {
    const inserted: LedgerRow[] = await manager.query(
      `INSERT INTO ${tables.ledger_entries}
         ("customer_id", "type", "amount", "idempotency_key", "request_hash", "lease_id", "description")
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT ("idempotency_key") DO NOTHING
       RETURNING *`,
      [
        entry.customerId,
        entry.type,
        entry.amount,
        entry.idempotencyKey,
        entry.requestHash ?? null,
        entry.leaseId ?? null,
        entry.description ?? null,
      ],
    );
    return inserted.length === 1 ? inserted[0] : undefined;
  },

  /** Appends the entry (a used idempotency key fails the statement). */
  async append(manager: EntityManager, entry: LedgerEntryInput): Promise<void> {
    await preparedQuery(manager, ledgerEntryInsert(['$1', '$2', '$3', '$4', '$5', '$6']), [
      entry.customerId,
      entry.type,
      entry.amount,
      entry.idempotencyKey,
      entry.leaseId ?? null,
      entry.description ?? null,
    ]);
  },

  async byIdempotencyKey(manager: EntityManager, idempotencyKey: string): Promise<LedgerRow> {
    const [existing]: LedgerRow[] = await manager.query(
      `SELECT * FROM ${tables.ledger_entries} WHERE "idempotency_key" = $1`,
      [idempotencyKey],
    );
    return existing;
  },

  /** The customer's entries, newest first, before `beforeId` if given. */
  page(
    runner: EntityManager | DataSource,
    customerId: string,
    limit: number,
    beforeId?: number,
  ): Promise<LedgerRow[]> {
    return runner.query(
      `SELECT * FROM ${tables.ledger_entries}
       WHERE "customer_id" = $1 AND ($2::bigint IS NULL OR "id" < $2)
       ORDER BY "id" DESC LIMIT $3`,
      [customerId, beforeId ?? null, limit],
    );
  },
};

/**
 * The UPDATE that takes `amount` from the customer's balance when `when` holds and the balance
 * stays above 0 (costAdmission: a take that would empty it, which every gateway must then be
 * told of, is left to the decision's transaction), for a statement that decides and writes at
 * once; `from` names the relation `amount` and `when` read. Returns the balance after.
 */
export const balanceTakeLeavingSome = (
  customer: string,
  amount: string,
  from: string,
  when: string,
) => `UPDATE ${tables.balances} b SET "available" = b."available" - ${amount}, "updated_at" = now()
  FROM ${from}
  WHERE b."customer_id" = ${customer} AND b."available" > ${amount} AND ${when}
  RETURNING b."available"`;

/** The SQL of the balance projection (balances), kept in step with the ledger. */
export const balances = {
  /**
   * The balance row lock orders every credit change of one customer (see LedgerService): held
   * until the transaction ends, the row created at 0 first. Answers the available balance,
   * exactly, as of the lock.
   */
  async lock(manager: EntityManager, customerId: string): Promise<bigint> {
    await manager.query(
      `INSERT INTO ${tables.balances} ("customer_id", "available") VALUES ($1, 0) ON CONFLICT DO NOTHING`,
      [customerId],
    );
    const [row]: { available: string }[] = await manager.query(
      `SELECT "available" FROM ${tables.balances} WHERE "customer_id" = $1 FOR UPDATE`,
      [customerId],
    );
    return toBigInt(row.available);
  },

  /** Moves the balance by a signed amount (creating the row). */
  async add(manager: EntityManager, customerId: string, amount: number | bigint): Promise<void> {
    await manager.query(
      `INSERT INTO ${tables.balances} ("customer_id", "available") VALUES ($1, $2)
       ON CONFLICT ("customer_id") DO UPDATE
         SET "available" = "balances"."available" + EXCLUDED."available", "updated_at" = now()`,
      [customerId, amount],
    );
  },

  /** Takes `amount` if the balance covers it: the balance after, or undefined. */
  async takeIfAvailable(
    manager: EntityManager,
    customerId: string,
    amount: number,
  ): Promise<string | undefined> {
    // A CTE, as when it ran through manager.query (which returns [rows, count] for a bare
    // UPDATE ... RETURNING); preparedQuery returns rows either way.
    const rows: { available: string }[] = await preparedQuery(
      manager,
      `WITH taken AS (
         UPDATE ${tables.balances} SET "available" = "available" - $2, "updated_at" = now()
         WHERE "customer_id" = $1 AND "available" >= $2 RETURNING "available"
       ) SELECT "available" FROM taken`,
      [customerId, amount],
    );
    return rows.length === 1 ? rows[0].available : undefined;
  },

  /**
   * takeIfAvailable in the same statement as the question GrantsService.settleDue starts
   * with, whether a grant of the customer came due by `now`: if one did, nothing is taken
   * (`due`, for the caller to settle it and take after), so a decision's common case is one
   * round trip where it was two. The balance row is locked only when something is taken.
   */
  async takeUnlessGrantDue(
    manager: EntityManager,
    customerId: string,
    amount: number,
    now: Date,
  ): Promise<{ due: boolean; after: string | undefined }> {
    const [row]: { due: boolean; available: string | null }[] = await preparedQuery(
      manager,
      `WITH due AS (SELECT EXISTS (SELECT 1 FROM ${tables.grants} WHERE ${grantDue('$1', '$3')}) AS "due"),
       taken AS (
         UPDATE ${tables.balances} SET "available" = "available" - $2, "updated_at" = now()
         WHERE "customer_id" = $1 AND "available" >= $2 AND NOT (SELECT "due" FROM due)
         RETURNING "available")
       SELECT (SELECT "due" FROM due) AS "due", (SELECT "available" FROM taken) AS "available"`,
      [customerId, amount, now],
    );
    return { due: row.due, after: row.available ?? undefined };
  },

  /** available, and whether a grant of the customer came due by `now` (see takeUnlessGrantDue). */
  async availableUnlessGrantDue(
    manager: EntityManager,
    customerId: string,
    now: Date,
  ): Promise<{ due: boolean; available: string }> {
    const [row]: { due: boolean; available: string }[] = await preparedQuery(
      manager,
      `SELECT EXISTS (SELECT 1 FROM ${tables.grants} WHERE ${grantDue('$1', '$2')}) AS "due",
         COALESCE((SELECT "available" FROM ${tables.balances} WHERE "customer_id" = $1), 0)::text
           AS "available"`,
      [customerId, now],
    );
    return row;
  },

  /** The stored balance as exact text ('0' without a row). */
  async available(manager: EntityManager, customerId: string): Promise<string> {
    const rows: { available: string }[] = await preparedQuery(
      manager,
      `SELECT "available" FROM ${tables.balances} WHERE "customer_id" = $1`,
      [customerId],
    );
    return rows.length === 1 ? rows[0].available : '0';
  },

  /** The balance and the credits open leases hold, as exact text, in one statement. */
  async withReserved(
    runner: EntityManager | DataSource,
    customerId: string,
  ): Promise<{ available: string; reserved: string }> {
    const [row]: { available: string; reserved: string }[] = await runner.query(
      `SELECT COALESCE((SELECT "available" FROM ${tables.balances} WHERE "customer_id" = $1), 0)::text AS "available",
              (SELECT ${RESERVED_SQL} FROM ${tables.leases}
                WHERE "customer_id" = $1 AND "status" = 'held' AND "beyond_units" > 0)::text AS "reserved"`,
      [customerId],
    );
    return row;
  },

  /** The balance + credits open leases may give back + pending grants, as exact text. */
  async committed(manager: EntityManager, customerId: string): Promise<string> {
    const [row]: { committed: string }[] = await manager.query(
      `SELECT (COALESCE((SELECT "available" FROM ${tables.balances} WHERE "customer_id" = $1), 0)::numeric
             + (SELECT ${RESERVED_SQL} FROM ${tables.leases}
                WHERE "customer_id" = $1 AND "status" = 'held' AND "beyond_units" > 0)
             + (SELECT COALESCE(SUM("amount"), 0) FROM ${tables.grants}
                WHERE "customer_id" = $1 AND "status" = 'pending'))::text AS "committed"`,
      [customerId],
    );
    return row.committed;
  },

  /** Holds off every balance change until the transaction ends. */
  async lockAll(manager: EntityManager): Promise<void> {
    await manager.query(`LOCK TABLE ${tables.balances} IN EXCLUSIVE MODE`);
  },

  /** Rewrites every stored balance that differs from the sum of its ledger. */
  async rebuildFromLedger(manager: EntityManager): Promise<void> {
    await manager.query(
      `INSERT INTO ${tables.balances} ("customer_id", "available")
       SELECT "customer_id", SUM("amount") FROM ${tables.ledger_entries} GROUP BY "customer_id"
       ON CONFLICT ("customer_id") DO UPDATE SET "available" = EXCLUDED."available", "updated_at" = now()
       WHERE "balances"."available" <> EXCLUDED."available"`,
    );
    // A balance with no ledger entry at all is owed nothing: the sum above never reaches it.
    await manager.query(
      `UPDATE ${tables.balances} b SET "available" = 0, "updated_at" = now()
       WHERE b."available" <> 0
         AND NOT EXISTS (SELECT 1 FROM ${tables.ledger_entries} l WHERE l."customer_id" = b."customer_id")`,
    );
  },

  /** Customers whose stored balance differs from the sum of their ledger. */
  drift(
    manager: EntityManager,
  ): Promise<{ customer_id: string; stored: string; ledger: string }[]> {
    return manager.query(
      `SELECT COALESCE(b."customer_id", l."customer_id") AS "customer_id",
              COALESCE(b."available", 0) AS "stored", COALESCE(l."sum", 0) AS "ledger"
       FROM ${tables.balances} b
       FULL JOIN (SELECT "customer_id", SUM("amount") AS "sum" FROM ${tables.ledger_entries}
                  GROUP BY "customer_id") l ON l."customer_id" = b."customer_id"
       WHERE COALESCE(b."available", 0) <> COALESCE(l."sum", 0)`,
    );
  },
};
