import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '@paygate/clock';
import { toSafeInt } from '@paygate/database';
import { DataSource, EntityManager } from 'typeorm';
import { EntitlementChanges } from '../changes/entitlement-changes';
import { thresholdAlerts } from '../alerts/alert';
import { AlertsService } from '../alerts/alerts.service';
import { GrantsService } from '../credits/grants.service';
import { LedgerService } from '../credits/ledger.service';
import { SettledBalance } from '../credits/settled-balance';
import {
  CurrentSubscription,
  SubscriptionLifecycleService,
} from '../subscriptions/subscription-lifecycle.service';
import { payerAccounts } from '../direct-payments/payer-accounts.repository';
import { type FeatureTerms, plans } from '../plans/plans.repository';
import { type CallerReadContext, readCaller } from './caller';
import { admissionWrites } from './admission-writes.repository';
import { type CostAdmissionContext, admitCostAlone } from './cost-admission';
import { CheckInput, Decision, DecisionWarning } from './decision';
import { FeatureUsageService } from './feature-usage.service';
import { accessDeniedBy } from './subscription-access';
import { extraOnCredits, splitIncluded } from './lease-pricing';
import { softLimitWarning } from './soft-limit-warning';
import { usageWindow } from './usage-window';

class Refusal extends Error {
  constructor(readonly decision: Decision) {
    super('refused');
  }
}

/**
 * The policy decision: who is calling, may their subscription and plan use this feature, and
 * do included units or credits cover the cost. An admitted metered request reserves its cost
 * as a lease in the same transaction, so concurrent checks can never admit more than allowed.
 */
@Injectable()
export class CheckUseCase {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly usage: FeatureUsageService,
    private readonly subscriptions: SubscriptionLifecycleService,
    @Inject(Clock) private readonly clock: Clock,
    private readonly changes: EntitlementChanges,
    private readonly grants: GrantsService,
    private readonly alerts: AlertsService,
  ) {
    this.balance = new SettledBalance(ledger, grants, clock);
    this.alone = { dataSource, clock, alerts: alerts.settings };
    this.callers = { dataSource, subscriptions, clock };
  }

  /** The balance as the decision reads and takes it, due grants settled first. */
  private readonly balance: SettledBalance;
  /** What a lease of the cost alone is decided with, in one statement (admitCostAlone). */
  private readonly alone: CostAdmissionContext;
  /** What the caller is read with (readCaller). */
  private readonly callers: CallerReadContext;

  async execute(input: CheckInput): Promise<Decision> {
    if (!input.apiKey && !input.customerId && input.payerPlan) return this.quote(input);
    const caller = await readCaller(this.callers, input);
    if ('allowed' in caller) return caller;
    const { customerId, subscription, feature } = caller;
    const now = this.clock.now();
    // Told with an allowed answer, so the gateway can tell the changes it was made with.
    const read = caller.read
      ? { readSnapshot: caller.read.snapshot, readDatabaseRun: caller.read.databaseRun }
      : {};
    if (!subscription) {
      return {
        allowed: false,
        customerId,
        denial: { code: 'feature-not-in-plan', feature: input.feature },
      };
    }
    const plan = subscription.planKey;
    const warnings: DecisionWarning[] = [];
    const statusProblem = accessDeniedBy(subscription.status);
    if (statusProblem === 'subscription-past-due' && subscription.pastDueSince) {
      // Within the grace period a past-due customer keeps access, with a warning.
      const graceEnds = new Date(
        subscription.pastDueSince.getTime() + subscription.gracePeriodSeconds * 1000,
      );
      if (now < graceEnds) warnings.push({ code: 'subscription-past-due', until: graceEnds });
      else return { allowed: false, customerId, denial: { code: statusProblem, plan } };
    } else if (statusProblem) {
      return { allowed: false, customerId, denial: { code: statusProblem, plan } };
    }

    if (!feature) {
      return {
        allowed: false,
        customerId,
        denial: { code: 'feature-not-in-plan', plan, feature: input.feature },
      };
    }
    const rateLimit =
      feature.rate_limit_requests && feature.rate_limit_window_seconds
        ? {
            requests: feature.rate_limit_requests,
            windowSeconds: feature.rate_limit_window_seconds,
          }
        : undefined;
    // The gateway enforces both limits; the decision only tells it the plan's numbers.
    const limits = {
      ...(rateLimit ? { rateLimit } : {}),
      ...(feature.concurrency_limit ? { concurrencyLimit: feature.concurrency_limit } : {}),
    };
    const extra = { ...(warnings.length > 0 ? { warnings } : {}), ...limits };
    if (feature.kind === 'boolean' || input.cost === 0)
      return { allowed: true, customerId, plan, ...extra, ...read };

    try {
      const decision =
        (await admitCostAlone(this.alone, input, customerId, subscription, feature)) ??
        (await this.dataSource.transaction((manager) =>
          this.reserve(manager, input, customerId, subscription, feature),
        ));
      if (!decision.allowed) return decision;
      const all = [...warnings, ...(decision.warnings ?? [])];
      return {
        ...decision,
        ...(all.length > 0 ? { warnings: all } : {}),
        ...limits,
        ...read,
      };
    } catch (err) {
      if (err instanceof Refusal) return err.decision;
      throw err;
    }
  }

  /**
   * The price of a call for a caller without an account (anonymous pay-per-call): its cost in
   * credits under the payer plan's newest version, as a `payment-required` refusal the
   * gateway turns into offers. Nothing is read or reserved for anyone.
   */
  private async quote(input: CheckInput): Promise<Decision> {
    const account = input.payerAccount
      ? await payerAccounts.find(this.dataSource.manager, input.payerAccount)
      : undefined;
    if (account) return this.quoteFor(account, input);
    const plan = input.payerPlan as string;
    const planId = await plans.newestId(this.dataSource.manager, plan);
    const feature = planId
      ? await plans.feature(this.dataSource.manager, planId, input.feature)
      : undefined;
    if (!feature) {
      return {
        allowed: false,
        denial: { code: 'feature-not-in-plan', plan, feature: input.feature },
      };
    }
    const price = feature.limit_policy === 'credits' ? toSafeInt(feature.unit_price) : 0;
    return {
      allowed: false,
      denial: {
        code: 'payment-required',
        plan,
        feature: input.feature,
        balance: 0,
        required: Math.min(Number.MAX_SAFE_INTEGER, input.cost * price),
      },
    };
  }

  /**
   * The price of a call for a payer that is a customer already: its own state decides first
   * (blocked, subscription status, the feature in its plan version: a cost-0 check, which
   * reserves nothing), then its plan version prices the call. What the gateway asks after a
   * payment verified and before it is settled, so a payment a refusal would follow is never
   * taken.
   */
  private async quoteFor(customerId: string, input: CheckInput): Promise<Decision> {
    const own = await this.execute({
      ...input,
      apiKey: '',
      customerId,
      payerPlan: undefined,
      cost: 0,
    });
    if (!own.allowed) return own;
    const subscription = await this.subscriptions.current(customerId);
    const feature = subscription
      ? await plans.feature(this.dataSource.manager, subscription.planId, input.feature)
      : undefined;
    const price = feature?.limit_policy === 'credits' ? toSafeInt(feature.unit_price) : 0;
    return {
      allowed: false,
      customerId,
      denial: {
        code: 'payment-required',
        plan: own.plan,
        feature: input.feature,
        balance: 0,
        required: Math.min(Number.MAX_SAFE_INTEGER, input.cost * price),
      },
    };
  }

  /** Refuses from inside the reservation transaction, so that everything it wrote rolls back. */
  private refuse(decision: Decision): never {
    throw new Refusal(decision);
  }

  private async reserve(
    manager: EntityManager,
    input: CheckInput,
    customerId: string,
    subscription: CurrentSubscription,
    feature: FeatureTerms,
  ): Promise<Decision> {
    const plan = subscription.planKey;
    const included = toSafeInt(feature.included_units);
    const window = usageWindow(feature.usage_period, subscription, this.clock.now());
    const periodStart = window.start;
    // A lease that may pay credits takes the counter's give-back turn before the counter, so
    // no give-back of included units misses it (why, and why before: featureUsage.lock).
    const paysCredits = feature.limit_policy === 'credits' && toSafeInt(feature.unit_price) > 0;
    const used = await this.usage.lock(
      manager,
      subscription.id,
      input.feature,
      periodStart,
      paysCredits,
    );
    const { beyond, extraWanted, extraIncluded } = splitIncluded({
      cost: input.cost,
      leaseUnits: input.leaseUnits,
      included,
      used,
    });
    let credits = 0;
    // The credit balance after this admission, when credits were taken.
    let left: number | null | undefined;
    if (beyond > 0 && feature.limit_policy === 'block') {
      this.refuse({
        allowed: false,
        customerId,
        denial: {
          code: 'quota-exhausted',
          plan,
          feature: input.feature,
          limit: included,
          used,
          required: input.cost,
          resetsAt: window.end ?? undefined,
        },
      });
    }
    // Units granted beyond the cost, for the gateway to admit later requests locally: from
    // included units first, then (policy credits) as far as the balance goes, or without limit
    // (policy overage).
    let extraBeyond = 0;
    if (feature.limit_policy === 'overage') extraBeyond = extraWanted - extraIncluded;
    if (feature.limit_policy === 'credits') {
      const price = toSafeInt(feature.unit_price);
      const wanted = extraWanted - extraIncluded;
      // Grants that came due are settled before the balance decides anything (settledBalance:
      // the read, or else the take, asks whether any did). The balance is read only when it
      // decides something, the extra units; then the take after it has nothing to ask.
      const settled = price > 0 && wanted > 0;
      const available = settled ? await this.balance.available(manager, customerId) : undefined;
      extraBeyond = extraOnCredits(wanted, beyond, price, available);
      credits = (beyond + extraBeyond) * price;
      if (credits > 0) {
        left = settled
          ? await this.ledger.takeIfAvailable(manager, customerId, credits)
          : await this.balance.take(manager, customerId, credits);
        // The balance that sized the extra units was read without its lock: another feature's
        // admission, a usage debit or an expiry may have taken some since. The extra units are
        // sized again from the balance as it is now, down to none (the cost alone), rather
        // than refusing a request the balance still pays for.
        while (left === null && extraBeyond > 0) {
          const current = await this.ledger.available(manager, customerId);
          extraBeyond = Math.min(extraBeyond - 1, extraOnCredits(wanted, beyond, price, current));
          credits = (beyond + extraBeyond) * price;
          left =
            credits > 0
              ? await this.ledger.takeIfAvailable(manager, customerId, credits)
              : undefined;
        }
      } else if (!settled && (beyond > 0 || wanted > 0)) {
        await this.grants.settleDue(manager, customerId);
      }
      // Emptying the balance changes every later decision: tell the gateways.
      if (left === 0) await this.changes.record(manager, customerId, 'balance-exhausted');
      if (left === null) {
        this.refuse({
          allowed: false,
          customerId,
          denial: {
            code: 'insufficient-credits',
            plan,
            feature: input.feature,
            balance: await this.ledger.available(manager, customerId),
            required: beyond * price,
          },
        });
      }
    }
    const units = input.cost + extraIncluded + extraBeyond;
    const lease = { id: randomUUID() };
    // The lease, its units on the counter and, with credits, their burn from the grants and
    // the ledger's reserve entry: one statement (admissionWrites).
    await admissionWrites.record(
      manager,
      {
        id: lease.id,
        customerId,
        subscriptionId: subscription.id,
        featureKey: input.feature,
        periodStart,
        requestId: input.requestId,
        units,
        credits,
        beyondUnits: beyond + extraBeyond,
      },
      { idempotencyKey: `lease:${lease.id}:reserve`, description: `request ${input.requestId}` },
    );
    await this.alerts.queue(
      manager,
      thresholdAlerts(this.alerts.settings, {
        customerId,
        feature: input.feature,
        included,
        usedBefore: used,
        units,
        windowStart: window.start,
        ...(typeof left === 'number'
          ? { balance: { before: BigInt(left) + BigInt(credits), after: BigInt(left) } }
          : {}),
      }),
    );
    const soft = softLimitWarning(feature, included, used + units, window.end);
    return {
      allowed: true,
      customerId,
      plan,
      leaseId: lease.id,
      leaseUnits: units,
      ...(soft ? { warnings: [soft] } : {}),
    };
  }
}
