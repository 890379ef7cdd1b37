import { Inject, Injectable } from '@nestjs/common';
import { type ExactInt, MAX_EXACT_INT, toExactInt, toSafeInt } from '@paygate/database';
import { DomainError } from '@paygate/problem-details';
import { DataSource, EntityManager } from 'typeorm';

export type LedgerEntryType =
  'grant' | 'debit' | 'reserve' | 'release' | 'expire' | 'void' | 'adjust';

export interface LedgerEntryInput {
  customerId: string;
  type: LedgerEntryType;
  /** Signed change to the available balance (a bigint is sent to Postgres as exact text). */
  amount: number | bigint;
  idempotencyKey: string;
  requestHash?: string;
  leaseId?: string;
  description?: string;
}

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

interface LedgerRow {
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
 * Credits of open lease units (neither settled by usage nor given back). Returned units refund
 * the credit-paid part first, so that part shrinks with "returned". Numeric, so it never
 * overflows.
 */
const RESERVED_SQL = `COALESCE(SUM(("credits" / "beyond_units")::numeric * LEAST(
    "units" - "consumed" - "returned",
    "beyond_units" - LEAST("returned", "beyond_units"))), 0)`;

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
    const inserted: LedgerRow[] = await manager.query(
      `INSERT INTO "entitlement"."ledger_entries"
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
    if (inserted.length === 1) {
      await manager.query(
        `INSERT INTO "entitlement"."balances" ("customer_id", "available") VALUES ($1, $2)
         ON CONFLICT ("customer_id") DO UPDATE
           SET "available" = "balances"."available" + EXCLUDED."available", "updated_at" = now()`,
        [entry.customerId, entry.amount],
      );
      return { entry: toView(inserted[0]), replayed: false };
    }
    const [existing]: LedgerRow[] = await manager.query(
      `SELECT * FROM "entitlement"."ledger_entries" WHERE "idempotency_key" = $1`,
      [entry.idempotencyKey],
    );
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
    // Wrapped in a CTE because TypeORM returns [rows, count] for a bare UPDATE ... RETURNING.
    const rows: { available: string }[] = await manager.query(
      `WITH taken AS (
         UPDATE "entitlement"."balances" SET "available" = "available" - $2, "updated_at" = now()
         WHERE "customer_id" = $1 AND "available" >= $2 RETURNING "available"
       ) SELECT "available" FROM taken`,
      [customerId, amount],
    );
    return rows.length === 1 ? toSafeInt(rows[0].available) : null;
  }

  /** Records an entry whose balance effect was already applied by takeIfAvailable. */
  async recordTaken(manager: EntityManager, entry: LedgerEntryInput): Promise<void> {
    await manager.query(
      `INSERT INTO "entitlement"."ledger_entries"
         ("customer_id", "type", "amount", "idempotency_key", "lease_id", "description")
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        entry.customerId,
        entry.type,
        entry.amount,
        entry.idempotencyKey,
        entry.leaseId ?? null,
        entry.description ?? null,
      ],
    );
  }

  /**
   * The spendable balance as a number for decisions. Never throws: past ±(2^53 − 1) (possible
   * only with data from before MAX_BALANCE, or usage overdrawing by more) it saturates at the
   * bound, which decides every safe-integer cost the same way as the exact value.
   */
  async available(manager: EntityManager, customerId: string): Promise<number> {
    return toSafeInt(await this.availableText(manager, customerId));
  }

  private async availableText(manager: EntityManager, customerId: string): Promise<string> {
    const rows: { available: string }[] = await manager.query(
      `SELECT "available" FROM "entitlement"."balances" WHERE "customer_id" = $1`,
      [customerId],
    );
    return rows.length === 1 ? rows[0].available : '0';
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
    const [row]: { available: string; reserved: string }[] = await this.dataSource.query(
      `SELECT COALESCE((SELECT "available" FROM "entitlement"."balances" WHERE "customer_id" = $1), 0)::text AS "available",
              (SELECT ${RESERVED_SQL} FROM "entitlement"."leases"
                WHERE "customer_id" = $1 AND "status" = 'held' AND "beyond_units" > 0)::text AS "reserved"`,
      [customerId],
    );
    return row;
  }

  /**
   * What the customer's balance could reach without a new grant: the balance, the credits
   * open leases may give back, and grants that are not effective yet. Exact (Postgres numeric).
   * Read under the balance row lock by GrantsService to keep every balance within MAX_BALANCE.
   */
  async committed(manager: EntityManager, customerId: string): Promise<bigint> {
    const [row]: { committed: string }[] = await manager.query(
      `SELECT (COALESCE((SELECT "available" FROM "entitlement"."balances" WHERE "customer_id" = $1), 0)::numeric
             + (SELECT ${RESERVED_SQL} FROM "entitlement"."leases"
                WHERE "customer_id" = $1 AND "status" = 'held' AND "beyond_units" > 0)
             + (SELECT COALESCE(SUM("amount"), 0) FROM "entitlement"."grants"
                WHERE "customer_id" = $1 AND "status" = 'pending'))::text AS "committed"`,
      [customerId],
    );
    return BigInt(row.committed);
  }

  async history(customerId: string, limit: number, beforeId?: number): Promise<LedgerEntryView[]> {
    const rows: LedgerRow[] = await this.dataSource.query(
      `SELECT * FROM "entitlement"."ledger_entries"
       WHERE "customer_id" = $1 AND ($2::bigint IS NULL OR "id" < $2)
       ORDER BY "id" DESC LIMIT $3`,
      [customerId, beforeId ?? null, limit],
    );
    return rows.map(toView);
  }

  /**
   * Rewrites every stored balance from the ledger, under a lock that holds off concurrent
   * balance changes, and returns the rows it had to correct.
   */
  async rebuild(): Promise<{ customerId: string; stored: ExactInt; ledger: ExactInt }[]> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`LOCK TABLE "entitlement"."balances" IN EXCLUSIVE MODE`);
      const drift = await this.findDrift(manager);
      await manager.query(
        `INSERT INTO "entitlement"."balances" ("customer_id", "available")
         SELECT "customer_id", SUM("amount") FROM "entitlement"."ledger_entries" GROUP BY "customer_id"
         ON CONFLICT ("customer_id") DO UPDATE SET "available" = EXCLUDED."available", "updated_at" = now()
         WHERE "balances"."available" <> EXCLUDED."available"`,
      );
      return drift;
    });
  }

  /** Customers whose stored balance differs from the sum of their ledger (should be none). */
  async findDrift(
    manager: EntityManager = this.dataSource.manager,
  ): Promise<{ customerId: string; stored: ExactInt; ledger: ExactInt }[]> {
    const rows: { customer_id: string; stored: string; ledger: string }[] = await manager.query(
      `SELECT COALESCE(b."customer_id", l."customer_id") AS "customer_id",
              COALESCE(b."available", 0) AS "stored", COALESCE(l."sum", 0) AS "ledger"
       FROM "entitlement"."balances" b
       FULL JOIN (SELECT "customer_id", SUM("amount") AS "sum" FROM "entitlement"."ledger_entries"
                  GROUP BY "customer_id") l ON l."customer_id" = b."customer_id"
       WHERE COALESCE(b."available", 0) <> COALESCE(l."sum", 0)`,
    );
    return rows.map((r) => ({
      customerId: r.customer_id,
      stored: toExactInt(r.stored),
      ledger: toExactInt(r.ledger),
    }));
  }
}
