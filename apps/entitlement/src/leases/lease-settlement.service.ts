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
 * Closes leases, in parts: usage settles units (`consumed`), gateways and the expiry sweep
 * give unused ones back (`returned`); a unit is one or the other, never both. Locks are taken
 * in the same order as CheckUseCase (lease, usage counter, balance) so a release never
 * deadlocks against a concurrent check of the same customer.
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
    const lease = await leases.lock(manager, leaseId);
    if (!lease) return false;
    // A lease is closed once: a second close is the gateway trying again after a close whose
    // answer it never got (a deadline), and giving its units back again would hand back units
    // that were served (their usage not yet settled) as if they were not.
    if (lease.gateway_closed_at) return true;
    await this.giveBack(manager, lease, reason, units);
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
    const lease = await leases.lock(manager, leaseId);
    if (!lease) return false;
    // Claimed under the lease's lock, in the transaction that gives the units back: both or
    // neither (a give-back of nothing open rolls nothing back, and stays claimed: it was done).
    if (
      releaseId &&
      !(await processedMessages.claim(manager, `lease-release:${leaseId}:${releaseId}`))
    )
      return true;
    return this.giveBack(manager, lease, reason, units);
  }

  /**
   * Expires a lease the sweep found unclosed: gives back all its open units, unless its
   * gateway closed it since (its other units were served and wait for their usage). False if
   * nothing was given back.
   */
  async expire(manager: EntityManager, leaseId: string): Promise<boolean> {
    const lease = await leases.lock(manager, leaseId);
    if (!lease || lease.gateway_closed_at) return false;
    return this.giveBack(manager, lease, 'lease expired');
  }

  private async giveBack(
    manager: EntityManager,
    lease: LeaseRow,
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
    await this.usage.lock(manager, lease.subscription_id, lease.feature_key, lease.period_start);
    await this.usage.add(
      manager,
      lease.subscription_id,
      lease.feature_key,
      lease.period_start,
      -giving,
    );
    // Units paid with credits are given back first: the lease's included units stay used.
    const beyond = toSafeInt(lease.beyond_units);
    const refundUnits = Math.min(returnedAfter, beyond) - Math.min(returnedBefore, beyond);
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
    return true;
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
