import { Inject, Injectable, Logger } from '@nestjs/common';
import type { UsageRecordedEvent } from '@paygate/contracts';
import { MAX_EXACT_INT, toBigInt, toSafeInt } from '@paygate/database';
import { counter } from '@paygate/observability';
import { DataSource, EntityManager } from 'typeorm';
import { GrantsService } from '../credits/grants.service';
import { balances } from '../credits/ledger.repository';
import { LedgerService } from '../credits/ledger.service';
import { FeatureUsageService } from '../decisions/feature-usage.service';
import { LeaseSettlementService } from '../leases/lease-settlement.service';
import { usageWindow } from '../decisions/usage-window';
import { plans } from '../plans/plans.repository';
import { processedMessages } from '../payments/processed-messages.repository';
import { Clock } from '@paygate/clock';
import { thresholdAlerts } from '../alerts/alert';
import { AlertsService } from '../alerts/alerts.service';
import { SubscriptionLifecycleService } from '../subscriptions/subscription-lifecycle.service';

export type ChargeOutcome = 'applied' | 'duplicate' | 'unbillable';

/** The processed-message id that applies a usage.recorded message once. */
const claimOf = (event: UsageRecordedEvent) => `usage-recorded:${event.id}`;

/**
 * The ledger's bound: ledger amounts and balances are Postgres bigint, ±(2^63 − 1). A debit
 * (units × unit price, both safe integers, so up to about 2^106) is computed exactly with
 * BigInt and recorded exactly as long as the entry and the balance after it stay within this;
 * past it, what fits is recorded and the rest is logged and counted, never thrown (a thrown
 * message would be retried, or skipped with its units, forever).
 */
export const LEDGER_BOUND = 2n ** 63n - 1n;

const capped = counter(
  'paygate_usage_debits_capped_total',
  'Usage debits cut to the ledger bound (credits past it are logged, not charged)',
);

/**
 * Turns recorded usage into balance changes, exactly once per message id. Units admitted from
 * a lease were paid for when it was reserved, so they only settle it; other units (usage that
 * services reported without a lease) are counted against included units and then drawn from
 * credits. Those may take the balance below zero: the usage already happened, and the next
 * check refuses until the customer tops up. The thresholds they cross raise the operator's
 * alerts as an admission's would, queued in the transaction that claims the message (so a
 * replay raises none).
 */
@Injectable()
export class UsageChargeUseCase {
  private readonly logger = new Logger(UsageChargeUseCase.name);

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly usage: FeatureUsageService,
    private readonly leases: LeaseSettlementService,
    private readonly subscriptions: SubscriptionLifecycleService,
    @Inject(Clock) private readonly clock: Clock,
    private readonly grants: GrantsService,
    private readonly alerts: AlertsService,
  ) {}

  /**
   * `wholeTried`: executeWholeEach found the message's leases short of it already, so only the
   * transaction is left to try.
   */
  async execute(event: UsageRecordedEvent, wholeTried = false): Promise<ChargeOutcome> {
    const claim = claimOf(event);
    // Usage a gateway reports names a lease for every unit: when the leases cover it all, the
    // message is claimed and settled by one statement, without a transaction's round trips.
    const whole = wholeTried
      ? 'partial'
      : await this.leases.settleWhole(
          this.dataSource.manager,
          claim,
          event.leased,
          event.quantity,
          event.meterKey,
        );
    if (whole !== 'partial') return whole;
    return this.dataSource.transaction(async (manager) => {
      if (!(await processedMessages.claim(manager, claim))) return 'duplicate';
      const covered = await this.leases.settle(manager, event.leased, event.meterKey);
      const unleased = event.quantity - covered;
      if (unleased <= 0) return 'applied';
      return this.charge(manager, event, unleased);
    });
  }

  /**
   * The first step of execute for a batch of messages, in one statement and one commit:
   * 'applied' or 'duplicate' for each message its leases cover whole, 'partial' for one they do
   * not (execute it with `wholeTried`), undefined for one the statement left alone because
   * another message of the batch names one of its leases (execute it as usual, in order).
   */
  async executeWholeEach(
    events: readonly UsageRecordedEvent[],
  ): Promise<(ChargeOutcome | 'partial' | undefined)[]> {
    return this.leases.settleWholeEach(
      this.dataSource.manager,
      events.map((e) => ({
        claim: claimOf(e),
        usage: e.leased,
        quantity: e.quantity,
        meterKey: e.meterKey,
      })),
    );
  }

  private async charge(
    manager: EntityManager,
    event: UsageRecordedEvent,
    units: number,
  ): Promise<ChargeOutcome> {
    const subscription = await this.subscriptions.current(event.customerId, manager);
    const feature = subscription
      ? await plans.meteredFeatureOf(manager, subscription.planId, event.meterKey)
      : undefined;
    if (!subscription || !feature) {
      this.logger.warn(
        { customerId: event.customerId, meterKey: event.meterKey },
        'usage for no metered feature',
      );
      return 'unbillable';
    }
    const window = usageWindow(feature.usage_period, subscription, this.clock.now());
    const used = await this.usage.lock(manager, subscription.id, feature.feature_key, window.start);
    const fromIncluded = Math.min(units, Math.max(0, toSafeInt(feature.included_units) - used));
    const beyond = units - fromIncluded;
    let balance: { before: bigint; after: bigint } | undefined;
    if (beyond > 0 && feature.limit_policy === 'credits') {
      const exact = BigInt(beyond) * toBigInt(feature.unit_price);
      if (exact > 0n) balance = await this.debit(manager, event, beyond, exact);
    }
    await this.usage.add(manager, subscription.id, feature.feature_key, window.start, units);
    await this.alerts.queue(
      manager,
      thresholdAlerts(this.alerts.settings, {
        customerId: event.customerId,
        feature: feature.feature_key,
        included: toSafeInt(feature.included_units),
        usedBefore: used,
        units,
        windowStart: window.start,
        ...(balance ? { balance } : {}),
      }),
    );
    return 'applied';
  }

  /**
   * Draws `exact` credits (exactly, as a bigint) for `beyond` units: from the grants first, then
   * as a ledger debit that may overdraw. Under the balance row lock, the debit is cut so that
   * the entry and the balance stay within LEDGER_BOUND; whatever is cut is logged and counted.
   * Returns the balance before and after the debit (due grants settled), when a low-balance
   * alert is watched for.
   */
  private async debit(
    manager: EntityManager,
    event: UsageRecordedEvent,
    beyond: number,
    exact: bigint,
  ): Promise<{ before: bigint; after: bigint } | undefined> {
    // The available balance, exactly, under the customer's balance row lock (taken before the
    // grants', as every credit change does), so the bound check holds until commit.
    const available = await balances.lock(manager, event.customerId);
    const room = available + LEDGER_BOUND;
    const limit = room < LEDGER_BOUND ? room : LEDGER_BOUND;
    const credits = exact <= limit ? exact : limit > 0n ? limit : 0n;
    if (credits < exact) {
      capped.inc();
      this.logger.error(
        {
          customerId: event.customerId,
          meterKey: event.meterKey,
          messageId: event.id,
          units: beyond,
          debit: exact.toString(),
          charged: credits.toString(),
          notCharged: (exact - credits).toString(),
          ledgerBound: LEDGER_BOUND.toString(),
        },
        'usage debit past the ledger bound: charged what fits, the rest is not charged',
      );
    }
    if (credits === 0n) return undefined;
    await this.grants.settleDue(manager, event.customerId);
    const { replayed } = await this.ledger.append(manager, {
      customerId: event.customerId,
      type: 'debit',
      amount: -credits,
      idempotencyKey: `usage-recorded:${event.id}:debit`,
      description:
        `${beyond} ${event.meterKey} units` +
        (credits < exact ? ` (${exact - credits} credits past the ledger bound not charged)` : ''),
    });
    // The entry's idempotency key decides whether this debit is new: the grants are burnt only
    // with it, so balance and grants never part (a message claimed again after its claim was
    // pruned would otherwise burn the grants twice against one entry).
    if (replayed) return undefined;
    // Grants hold at most MAX_BALANCE (2^53 − 1) credits together, so burning at most that
    // many takes exactly what burning the whole debit would; the ledger gets the exact debit.
    await this.grants.burn(
      manager,
      event.customerId,
      Number(credits < BigInt(MAX_EXACT_INT) ? credits : BigInt(MAX_EXACT_INT)),
    );
    if (!this.alerts.watchesBalance()) return undefined;
    // Read after settling due grants moved it too; still under this transaction's row lock.
    const after = toBigInt(await balances.available(manager, event.customerId));
    return { before: after + credits, after };
  }
}
