import { preparedQuery, toSafeInt } from '@paygate/database';
import type { EntityManager } from 'typeorm';
import { burnCtes, grantDue } from '../credits/grants.repository';
import { balanceTakeLeavingSome, ledgerEntryInsert } from '../credits/ledger.repository';
import { tables } from '../database/schema';
import { giveBackTurn, heldLeaseInsert } from '../leases/leases.repository';
import { usageAdd, usageLockExisting } from '../usage/feature-usage.repository';
import type { ReserveEntry } from './admission-writes.repository';

/** A request asking for a lease of its own cost, with what deciding it needs of its terms. */
export interface CostAdmission {
  leaseId: string;
  customerId: string;
  subscriptionId: string;
  featureKey: string;
  periodStart: Date;
  requestId: string;
  cost: number;
  /** The plan's included units in the window. */
  included: number;
  /** Policy `block`: nothing beyond the included units. */
  block: boolean;
  /** Credits per unit beyond the included units (policy `credits`), else undefined. */
  price: number | undefined;
  /** Grants due by then are settled first (a statement that finds one declines). */
  now: Date;
  /** Usage alerts' percents and low-balance threshold; an admission crossing one declines. */
  usagePercents: readonly number[];
  lowBalance: number | undefined;
  reserve: ReserveEntry;
}

/** No usage alert threshold lies between the counter's value before and after the cost. */
const NO_THRESHOLD_CROSSED = `NOT EXISTS (
    SELECT 1 FROM unnest($9::int[]) AS t("percent")
    WHERE $8::bigint > 0 AND s."used"::numeric * 100 < $8::numeric * t."percent"
      AND (s."used"::numeric + $7::numeric) * 100 >= $8::numeric * t."percent")`;

/** The counter's value, locked, and the units of the cost beyond the included units. */
const SPLIT = `counter AS (${usageLockExisting('$3', '$4', '$5')}),
  split AS (
    SELECT "used", GREATEST(0, $7::bigint - GREATEST(0, $8::bigint - "used")) AS "beyond"
    FROM counter)`;

const LEASE = heldLeaseInsert(
  ['$1::uuid', '$2::uuid', '$3', '$4', '$5', '$6::text', '$7', 'a."credits"', 'a."beyond"'],
  'admitted a WHERE a."ok"',
);
const USAGE = usageAdd('$3', '$4', '$5', '$7', '(SELECT "ok" FROM admitted)');
const RESULT = `SELECT "ok", "used"::text AS "used" FROM admitted`;

/** Policies `block` and `overage`: nothing to take; `block` admits nothing beyond. */
const WITHOUT_CREDITS = `WITH ${SPLIT},
  admitted AS (
    SELECT s."used", s."beyond", 0 AS "credits",
      (NOT $10::boolean OR s."beyond" = 0) AND ${NO_THRESHOLD_CROSSED} AS "ok"
    FROM split s),
  lease AS (${LEASE}),
  usage AS (${USAGE})
  ${RESULT}`;

/**
 * When grants count as due: the decision's clock reading ($11, taken before the statement was
 * sent) moved on by the time the statement has run, its wait for the counter's lock included.
 * The transaction reads its clock after that lock; a statement that went by $11 alone after a
 * long wait could burn a grant that expired while it waited.
 */
const DUE_BY = '($11::timestamptz + (clock_timestamp() - statement_timestamp()))';

/**
 * Whether the decision has the counter's give-back turn (giveBackTurn), tried shared only when
 * it takes credits (units beyond the included ones at a price): the lease is then a payer
 * that included units given back may re-include, and a give-back finds its payers once it
 * holds the turn (leases.lockGiveBacks). Tried, not waited for: it comes after the counter's
 * lock, which tells whether the lease pays, and a give-back that holds the turn waits for the
 * counter. When a give-back has it (or waits for it), the statement declines, and the
 * transaction waits for the turn before it locks the counter (featureUsage.lock).
 *
 * Why that is enough under READ COMMITTED, with the statement's snapshot older than what it
 * waited for: a give-back takes its units off the counter under the counter's lock and holds
 * its turn until it commits. So when the statement gets the turn, either the give-back took
 * them off before this statement locked the counter, and committed (it held the turn until
 * then): the counter's lock, waiting for it, reads the newest version, without those units;
 * or the give-back has not taken the turn yet, and takes it once this lease committed: the
 * statement after it, which looks for payers, has a snapshot of its own and finds the lease.
 * What else a give-back changes for the statement to read is the balance (its refunds), and a
 * changed balance row makes the take below decline.
 */
const HAS_TURN = `CASE WHEN s."beyond" > 0 AND $10::numeric > 0
    THEN pg_try_advisory_xact_lock_shared(${giveBackTurn('$3::uuid', '$4::text')})
    ELSE true END`;

/**
 * Policy `credits`: the units beyond the included ones are paid, taken from the balance only
 * while no grant of the customer came due, no alert threshold is crossed and the balance stays
 * above 0; then burnt from the grants, with the ledger's `reserve` entry. Units beyond at price
 * 0 are the transaction's too (it settles due grants first).
 *
 * The statement's snapshot is from before it waited for the counter's lock. The take re-checks
 * the balance row's newest version, but the grants it burns (and the grants due) are read as
 * of the snapshot, where a grant added, activated or expired meanwhile would be missed: the
 * burn would then take from the wrong grants, or from none. So the take also requires the
 * balance row to be the snapshot's own version (its xmin): every change to a customer's grants
 * changes their balance row in the same transaction, so a statement that waited behind one
 * declines, and the transaction, whose later statements read the newest rows, decides. Grants
 * are locked only when credits are taken, after the balance, as the transaction locks them.
 * Credits are taken only with the counter's give-back turn (HAS_TURN), tried once: `priced`
 * is read twice, so it runs once.
 */
const WITH_CREDITS = `WITH ${SPLIT},
  priced AS (
    SELECT s."used", s."beyond", s."beyond"::numeric * $10::numeric AS "credits",
      ${NO_THRESHOLD_CROSSED} AS "quiet", ${HAS_TURN} AS "turn"
    FROM split s),
  took AS (${balanceTakeLeavingSome(
    '$2',
    'p."credits"',
    'priced p',
    `p."credits" > 0 AND p."credits" <= ${Number.MAX_SAFE_INTEGER} AND p."quiet" AND p."turn"
      AND b."xmin" = (SELECT "xmin" FROM ${tables.balances} WHERE "customer_id" = $2)
      AND NOT EXISTS (SELECT 1 FROM ${tables.grants} WHERE ${grantDue('$2', DUE_BY)})
      AND NOT ($14::numeric IS NOT NULL AND b."available" > $14::numeric
               AND b."available" - p."credits" <= $14::numeric)`,
  )}),
  admitted AS (
    SELECT "used", "beyond", "credits", "quiet" AND ("beyond" = 0 OR EXISTS (SELECT 1 FROM took)) AS "ok"
    FROM priced),
  lease AS (${LEASE}),
  usage AS (${USAGE}),
  ${burnCtes(
    '$2',
    '(SELECT "credits" FROM admitted WHERE "ok")',
    '$1',
    'COALESCE((SELECT "credits" FROM admitted WHERE "ok"), 0) > 0',
  )},
  ledger AS (${ledgerEntryInsert(
    ['$2::uuid', `'reserve'`, '-a."credits"', '$12::text', '$1::uuid', '$13::text'],
    'admitted a WHERE a."ok" AND a."credits" > 0',
  )})
  ${RESULT}`;

/**
 * The common decision, a request's lease of its own cost, in one statement and without a
 * transaction, where CheckUseCase's transaction takes five round trips (BEGIN, the counter's
 * lock, the balance's take, the writes, COMMIT): the counter row is locked and read, the units
 * beyond the included ones priced and (policy `credits`) taken from the balance, and only when
 * all of that admits are the lease, its units on the counter, the burn and the ledger entry
 * written. Each part is the SQL of the repository that owns its table, with the lock order of
 * the transaction (counter, balance, grants). Whatever needs more than that declines and writes
 * nothing, for the transaction to decide as before: no counter row yet in the window, a refusal
 * (`block` beyond the included units, credits short), a grant that came due, an alert threshold
 * crossed, a balance taken to 0, units beyond at price 0, a give-back of the counter in flight.
 */
export const costAdmission = {
  /** The counter's value before the cost when admitted and written; undefined if declined. */
  async admit(manager: EntityManager, a: CostAdmission): Promise<{ used: number } | undefined> {
    const values: unknown[] = [
      a.leaseId,
      a.customerId,
      a.subscriptionId,
      a.featureKey,
      a.periodStart,
      a.requestId,
      a.cost,
      a.included,
      a.usagePercents,
    ];
    const rows: { ok: boolean; used: string }[] =
      a.price === undefined
        ? await preparedQuery(manager, WITHOUT_CREDITS, [...values, a.block])
        : await preparedQuery(manager, WITH_CREDITS, [
            ...values,
            a.price,
            a.now,
            a.reserve.idempotencyKey,
            a.reserve.description,
            a.lowBalance ?? null,
          ]);
    const [row] = rows;
    return row?.ok ? { used: toSafeInt(row.used) } : undefined;
  },
};
