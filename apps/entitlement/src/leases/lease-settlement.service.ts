import { Injectable } from '@nestjs/common';
import type { LeasedUsage } from '@paygate/contracts';
import { isUUID } from 'class-validator';
import { toBigInt, toSafeInt } from '@paygate/database';
import type { EntityManager } from 'typeorm';
import { GrantsService } from '../credits/grants.service';
import { LedgerService } from '../credits/ledger.service';
import { FeatureUsageService } from '../decisions/feature-usage.service';
import { processedMessages } from '../payments/processed-messages.repository';
import { type LeaseRow, leases } from './leases.repository';

/** Usage that names a lease: a lease id, and units to settle (a non-positive count settles none). */
const namesLease = (u: LeasedUsage) => isUUID(u.leaseId) && u.quantity > 0;

/** A lease id as Postgres compares it (a uuid: the case of its hex digits does not matter). */
const leaseKey = (u: LeasedUsage) => u.leaseId.toLowerCase();

/**
 * The usage of a message that names a lease for every one of its units (what a gateway
 * reports), those leases' part of it; undefined when some units name none.
 */
function wholeUsage(usage: LeasedUsage[], quantity: number): LeasedUsage[] | undefined {
  const leased = usage.filter(namesLease);
  const named = leased.reduce((sum, u) => sum + BigInt(u.quantity), 0n);
  return quantity > 0 && named === BigInt(quantity) ? leased : undefined;
}

/** Units of a lease that are neither settled by usage nor given back. */
const openUnits = (lease: LeaseRow) =>
  toSafeInt(lease.units) - toSafeInt(lease.consumed) - toSafeInt(lease.returned);

/**
 * Units a lease paid with credits that are still charged: neither given back (they go first)
 * nor re-included (LeaseSettlementService.giveBack).
 */
const paidUnits = (lease: LeaseRow) =>
  toSafeInt(lease.credits) > 0
    ? Math.max(0, toSafeInt(lease.beyond_units) - toSafeInt(lease.returned))
    : 0;

/** Oldest first: the first units beyond the included ones are the first back within them. */
const byAge = (a: LeaseRow, b: LeaseRow) =>
  a.created_at.getTime() - b.created_at.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A lease locked for a give-back, with the payers of its counter it may re-include (locked). */
interface LockedLease {
  lease: LeaseRow;
  payers: LeaseRow[];
}

/** Credit-paid units of a payer that included units given back let in. */
interface Reinclusion {
  payer: LeaseRow;
  units: number;
}

/**
 * The payers' credit-paid units that `freed` included units given back let in, the oldest
 * first: each included unit back while the counter is above the included units lets one in. No
 * more than the payers' units still charged: units beyond the included ones that no lease of
 * the counter paid with credits (policy overage, a price of 0, usage charged on arrival without
 * a lease) took nothing from a lease, so there is nothing of theirs to give back. A decision
 * prices a lease's paid units beyond the included units only, so while payers have any, the
 * counter is at least that far above them. Payers are of the lease's own counter, its period's:
 * never a later period's.
 */
function reincludedBy(payers: LeaseRow[], freed: number): Reinclusion[] {
  const out: Reinclusion[] = [];
  let left = freed;
  for (const payer of [...payers].sort(byAge)) {
    const units = Math.min(left, paidUnits(payer));
    if (units <= 0) continue;
    out.push({ payer, units });
    left -= units;
  }
  return out;
}

/**
 * Closes leases, in parts: usage settles units (`consumed`), gateways and the expiry sweep
 * give unused ones back (`returned`); a unit is one or the other, never both. Locks are taken
 * in the same order as CheckUseCase (lease, usage counter, balance) so a release never
 * deadlocks against a concurrent check of the same customer. A give-back first takes its
 * counter's give-back lock (give-backs of one counter take turns, and decisions that pay
 * credits hold it shared: a give-back runs between them), then its lease and the payers it
 * may re-include, together and in id order as a settlement locks its leases, then the
 * counter: it never waits for a lease while holding a counter, as settlements never do.
 */
@Injectable()
export class LeaseSettlementService {
  constructor(
    private readonly ledger: LedgerService,
    private readonly usage: FeatureUsageService,
    private readonly grants: GrantsService,
  ) {}

  /**
   * The gateway's last word on a lease: it gives back `units` (possibly 0) and reports that
   * every other open unit was served. Those stay open until usage settles them, and the expiry
   * sweep leaves them alone, so a stalled or late meter never turns served requests into free
   * ones. True if the lease exists.
   */
  async close(
    manager: EntityManager,
    leaseId: string,
    reason: string,
    units: number,
  ): Promise<boolean> {
    // Giving nothing back only marks the lease closed: one statement, no lock held before it.
    if (units <= 0) return leases.markGatewayClosed(manager, leaseId);
    const locked = await this.lockForGiveBack(manager, leaseId, units);
    if (!locked) return false;
    // A lease is closed once: a second close is the gateway trying again after a close whose
    // answer it never got (a deadline), and giving its units back again would hand back units
    // that were served (their usage not yet settled) as if they were not.
    if (locked.lease.gateway_closed_at) return true;
    await this.giveBack(manager, locked, reason, units);
    await leases.markGatewayClosed(manager, leaseId);
    return true;
  }

  /**
   * Closes leases that give nothing back, as close() with 0 units does for one: their units
   * were all served and stay open for their usage. One statement, no transaction; leases that
   * do not exist or were closed before are left as they are. How many this closed.
   */
  closeMany(manager: EntityManager, leaseIds: readonly string[]): Promise<number> {
    return leases.markGatewayClosedMany(manager, [...new Set(leaseIds)]);
  }

  /**
   * Gives back up to `units` of a lease's open units (all of them when omitted): they leave the
   * usage counter, and those paid with credits are refunded. False if nothing was open.
   * `releaseId` names the give-back: one applied to the lease before gives nothing back again
   * (true: it was), so a gateway may send a release again when its answer was lost.
   */
  async release(
    manager: EntityManager,
    leaseId: string,
    reason: string,
    units?: number,
    releaseId = '',
  ): Promise<boolean> {
    const locked = await this.lockForGiveBack(manager, leaseId, units);
    if (!locked) return false;
    // Claimed under the lease's lock, in the transaction that gives the units back: both or
    // neither (a give-back of nothing open rolls nothing back, and stays claimed: it was done).
    if (
      releaseId &&
      !(await processedMessages.claim(manager, `lease-release:${leaseId}:${releaseId}`))
    )
      return true;
    return this.giveBack(manager, locked, reason, units);
  }

  /**
   * Expires a lease the sweep found unclosed: gives back all its open units, unless its
   * gateway closed it since (its other units were served and wait for their usage). False if
   * nothing was given back.
   */
  async expire(manager: EntityManager, leaseId: string): Promise<boolean> {
    const locked = await this.lockForGiveBack(manager, leaseId);
    if (!locked || locked.lease.gateway_closed_at) return false;
    return this.giveBack(manager, locked, 'lease expired');
  }

  /**
   * Locks a lease for a give-back of up to `units` (all open ones when omitted), and with it
   * the payers of its counter that the included units it may give back would re-include, in id
   * order as settlements lock leases (it waits for a payer a settlement or another give-back
   * holds, rather than skip it, and never in a circle). First the counter's give-back lock:
   * give-backs of one counter take turns, so the payers found are still the ones to lock, and
   * decisions that pay credits hold it shared, so every lease they were admitting has
   * committed and is found (leases.lockGiveBacks). The first locks of a give-back's
   * transaction. Undefined if the lease does not exist.
   */
  private async lockForGiveBack(
    manager: EntityManager,
    leaseId: string,
    units?: number,
  ): Promise<LockedLease | undefined> {
    if (!(await leases.lockGiveBacks(manager, leaseId))) return undefined;
    const [lease, ...payers] = await leases.lockForGiveBack(
      manager,
      leaseId,
      units && units > 0 ? units : null,
    );
    return lease && { lease, payers };
  }

  /**
   * Gives back up to `units` of the lease's open units: off its counter, and the credits of its
   * paid units among them (given back first) refunded. The rest are included units; each lets
   * one credit-paid unit of the same counter back within the included units (the payers',
   * oldest first), and those units' credits are refunded too: what the period was charged
   * stays the price of its units beyond the included ones, as far as credits paid for them.
   */
  private async giveBack(
    manager: EntityManager,
    { lease, payers }: LockedLease,
    reason: string,
    units?: number,
  ): Promise<boolean> {
    const leaseId = lease.id;
    const open = openUnits(lease);
    const giving = Math.min(open, units && units > 0 ? units : open);
    if (giving <= 0) return false;
    const returnedBefore = toSafeInt(lease.returned);
    const returnedAfter = returnedBefore + giving;
    await leases.setReturned(manager, leaseId, returnedAfter);
    // Units paid with credits are given back first: the lease's included units stay used.
    const beyond = toSafeInt(lease.beyond_units);
    const refundUnits = Math.min(returnedAfter, beyond) - Math.min(returnedBefore, beyond);
    const freed = giving - refundUnits;
    const reincluded = reincludedBy(payers, freed);
    await this.usage.lock(manager, lease.subscription_id, lease.feature_key, lease.period_start);
    await this.usage.add(
      manager,
      lease.subscription_id,
      lease.feature_key,
      lease.period_start,
      -giving,
    );
    // Exactly, in BigInt: the product passes 2^53 for a large lease at a high price, and a
    // rounded quotient (900810019989.0001) is no ledger amount; what comes back is at most the
    // lease's credits, which the balance held, so it is a safe integer again.
    const credits =
      beyond > 0 ? Number((toBigInt(lease.credits) * BigInt(refundUnits)) / BigInt(beyond)) : 0;
    if (credits > 0) {
      await this.ledger.append(manager, {
        customerId: lease.customer_id,
        type: 'release',
        amount: credits,
        idempotencyKey: `lease:${leaseId}:release:${returnedAfter}`,
        leaseId,
        description: reason,
      });
      await this.grants.restore(
        manager,
        lease.customer_id,
        leaseId,
        credits,
        String(returnedAfter),
      );
    }
    // Named by the give-back (this lease and its units returned so far, which only grow), so
    // each refund is written once, with the give-back that made it.
    const step = `reincluded:${leaseId}:${returnedAfter}`;
    for (const r of reincluded) await this.refundReincluded(manager, r, step, reason, leaseId);
    return true;
  }

  /**
   * Refunds a payer's re-included units (see reincluded) at the price it paid for them, once
   * per give-back `step`: the payer no longer counts them as paid (so giving them back later
   * refunds nothing again), and their credits go back to the balance and the grants.
   */
  private async refundReincluded(
    manager: EntityManager,
    { payer, units }: Reinclusion,
    step: string,
    reason: string,
    by: string,
  ): Promise<void> {
    // Exactly, as a give-back of the payer's own units computes it: at most its credits.
    const credits = Number(
      (toBigInt(payer.credits) * BigInt(units)) / BigInt(toSafeInt(payer.beyond_units)),
    );
    if (credits > 0) {
      const { replayed } = await this.ledger.append(manager, {
        customerId: payer.customer_id,
        type: 'release',
        amount: credits,
        idempotencyKey: `lease:${payer.id}:${step}`,
        leaseId: payer.id,
        description: `${reason}: included units given back by lease ${by}`,
      });
      if (replayed) return;
      await this.grants.restore(manager, payer.customer_id, payer.id, credits, step);
    }
    await leases.reinclude(manager, payer.id, units, credits);
  }

  /**
   * Settles metered usage against the leases it names and returns how many units they covered:
   * those were paid for when each lease was reserved. Units given back (or never part of a
   * lease, or named by something that is not a lease id) cover nothing, so that usage is
   * charged as ordinary usage, once.
   */
  settle(manager: EntityManager, usage: LeasedUsage[], meterKey: string): Promise<number> {
    return leases.settleMany(manager, usage.filter(namesLease), meterKey);
  }

  /**
   * Claims a usage message (`claim`, the processed-message id) and settles its leases, in one
   * statement with no transaction, when they cover all of its `quantity`: what a gateway
   * reports names a lease for every unit, and usually nothing of them was given back. Changes
   * nothing and answers 'partial' otherwise, for the caller to settle and charge the message
   * in a transaction of its own.
   */
  async settleWhole(
    manager: EntityManager,
    claim: string,
    usage: LeasedUsage[],
    quantity: number,
    meterKey: string,
  ): Promise<'applied' | 'duplicate' | 'partial'> {
    const leased = wholeUsage(usage, quantity);
    if (!leased) return 'partial';
    return leases.settleWholeOnce(manager, claim, leased, quantity, meterKey);
  }

  /**
   * settleWhole for many messages in one statement and one commit (a consumer's batch): each
   * is answered as settleWhole would answer it alone, except one that names a lease another of
   * them names too, or repeats another's claim: that one is left alone (undefined), for the
   * caller to settle after the others, one at a time and in its order.
   */
  async settleWholeEach(
    manager: EntityManager,
    messages: readonly {
      claim: string;
      usage: LeasedUsage[];
      quantity: number;
      meterKey: string;
    }[],
  ): Promise<('applied' | 'duplicate' | 'partial' | undefined)[]> {
    const leased = messages.map((m) => wholeUsage(m.usage, m.quantity));
    // Every lease any message names counts, whole or not: a message the transaction settles
    // later in its turn may need the same lease's units. One lease, however its id is spelt.
    const named = messages.map((m) => new Set(m.usage.filter(namesLease).map(leaseKey)));
    const namers = new Map<string, number>();
    const claims = new Map<string, number>();
    messages.forEach((m, i) => {
      claims.set(m.claim, (claims.get(m.claim) ?? 0) + 1);
      for (const id of named[i]) namers.set(id, (namers.get(id) ?? 0) + 1);
    });
    const alone = (i: number) =>
      claims.get(messages[i].claim) === 1 && [...named[i]].every((id) => namers.get(id) === 1);
    const tried = messages.flatMap((m, i) => {
      const usage = leased[i];
      return usage && alone(i)
        ? [{ i, claim: m.claim, usage, quantity: m.quantity, meterKey: m.meterKey }]
        : [];
    });
    const outcomes = await leases.settleWholeOnceEach(manager, tried);
    const answers: ('applied' | 'duplicate' | 'partial' | undefined)[] = messages.map((_, i) =>
      leased[i] ? undefined : 'partial',
    );
    tried.forEach((t, k) => (answers[t.i] = outcomes[k]));
    return answers;
  }
}
