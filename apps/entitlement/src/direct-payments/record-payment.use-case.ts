import { Inject, Injectable, Logger } from '@nestjs/common';
import { counter } from '@paygate/observability';
import { DomainError } from '@paygate/problem-details';
import { DataSource, type EntityManager } from 'typeorm';
import { Clock } from '@paygate/clock';
import { payerAccountOf } from '@paygate/contracts';
import { EntitlementChanges } from '../changes/entitlement-changes';
import { GrantsService } from '../credits/grants.service';
import { LedgerService } from '../credits/ledger.service';
import { grantCharge, grantPayment } from './payment-grants';
import { type DirectPaymentRow, directPayments } from './direct-payments.repository';
import { plans } from '../plans/plans.repository';
import { payerAccounts } from './payer-accounts.repository';
import {
  type RecordPayment,
  type RecordPaymentInput,
  checkHold,
  parseRecordPayment,
} from './record-payment.input';

export interface RecordPaymentResult {
  /** The payment was recorded before: this call changed nothing. */
  replayed: boolean;
  /** The grant the payment created (on its first call). */
  grantId: string;
  /** The customer's available credits after the call (saturating at ±(2^53 − 1)). */
  balance: number;
  /** The customer credited: the request's, or the payer's account (payerPlan). */
  customerId: string;
  /**
   * Replayed by its customer, and an `upto` authorization still within its hold: what is left
   * of its credits is the customer's to spend. False otherwise.
   */
  authorizationOpen: boolean;
  /**
   * A journaled payment (`settling`): the caller holds its settlement now and must settle it and
   * report the outcome. False and not `replayed`: another caller is settling it.
   */
  claimed: boolean;
}

const recorded = counter(
  'paygate_direct_payments_total',
  'Settled payments turned into credits, by outcome',
  ['outcome'],
);

/** A replay answered to a caller the payment does not belong to: nothing granted or open. */
const NOT_THE_PAYERS = {
  replayed: true,
  grantId: '',
  balance: 0,
  authorizationOpen: false,
  claimed: false,
} as const;

/**
 * Turns a payment the gateway settled (machine-payable 402) into credits, exactly once per
 * payment id. In one transaction: the payment row is inserted first (its primary key is the
 * payment id), then the grant, whose id the row then takes. A second call with the same id,
 * concurrent or later, finds the row and answers `replayed` without changing anything: its
 * insert waits for the first transaction and, once that committed, does nothing; its next
 * statement (READ COMMITTED) then reads the committed row. If the first rolled back (e.g. a
 * grant past the balance bound), the second inserts and grants as if it were the first.
 *
 * A payment with an authorization (`upto`) was not settled: its credits are granted as an
 * authorization, burned before any other credits and expiring when its hold ends; what was
 * used of them is settled after that (PaymentSettlementsUseCase), the rest is never charged.
 *
 * An `exact` payment is journaled before the gateway settles it (`settling`): the row holds
 * what settles it and is the caller's until its claim lapses, and grants nothing. Its
 * settlement is reported by this call again with the transaction (or by CompleteSettlement),
 * which grants the credits once. A gateway that dies between settling and reporting leaves the
 * row to lapse: ClaimSettlements hands it to any gateway, and the payer's retry may take it over.
 */
@Injectable()
export class RecordPaymentUseCase {
  private readonly logger = new Logger(RecordPaymentUseCase.name);

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly grants: GrantsService,
    private readonly ledger: LedgerService,
    @Inject(Clock) private readonly clock: Clock,
    private readonly changes: EntitlementChanges,
  ) {}

  /**
   * @throws DomainError `validation-failed` naming the bad fields (nothing stored), also for a
   *   grant that would take the balance past MAX_BALANCE; `not-found` for an unknown customer
   *   or payer plan.
   */
  async execute(input: RecordPaymentInput): Promise<RecordPaymentResult> {
    const parsed = parseRecordPayment(input);
    const now = this.clock.now();
    const result = await this.dataSource.transaction(async (manager) => {
      const customerId = await this.customerOf(manager, parsed, now);
      if (customerId === undefined) return { ...NOT_THE_PAYERS, customerId: '' };
      const payment = { ...parsed, customerId };
      const done = await this.record(manager, payment, now);
      return { ...done, customerId: payment.customerId };
    });
    recorded.inc({ outcome: result.replayed ? 'replayed' : 'granted' });
    return result;
  }

  /**
   * The customer to credit: the one named, or (anonymous pay-per-call) the payer's account,
   * created on its first payment with a subscription to the payer plan, in this transaction:
   * a payment that is not recorded leaves no customer behind. Undefined for an anonymous call
   * presenting a payment recorded for a customer other than the payer's account (a customer
   * with an API key paid it): a replay that credits and admits nobody, or whoever holds the
   * credential would be admitted as that customer, from its whole balance.
   */
  private async customerOf(
    manager: EntityManager,
    payment: RecordPayment,
    now: Date,
  ): Promise<string | undefined> {
    if (!payment.payerPlan) {
      if (!(await directPayments.customerExists(manager, payment.customerId)))
        throw new DomainError('not-found', `Customer ${payment.customerId} does not exist.`);
      return payment.customerId;
    }
    const account = payerAccountOf(payment.network, payment.payer);
    // A payment recorded before (a replay) names its customer already: nobody new is made.
    const earlier = await directPayments.find(manager, payment.paymentId);
    if (earlier) {
      if (earlier.customer_id === (await payerAccounts.find(manager, account)))
        return earlier.customer_id;
      this.logger.warn(
        { paymentId: payment.paymentId, recordedFor: earlier.customer_id },
        "payment credential of a customer's own presented without its API key",
      );
      return undefined;
    }
    const planId = await plans.newestId(manager, payment.payerPlan);
    if (!planId) throw new DomainError('not-found', `Plan ${payment.payerPlan} does not exist.`);
    const { customerId, created } = await payerAccounts.findOrCreate(manager, account, planId, now);
    if (created) {
      // Announced like any new customer: metering may hold or refuse unknown customers' usage.
      await this.changes.record(manager, customerId, 'customer-created');
      await this.changes.record(manager, customerId, 'subscription-created', created);
      this.logger.log({ account, customerId }, 'payer account created');
    }
    return customerId;
  }

  private async record(
    manager: EntityManager,
    payment: RecordPayment,
    now: Date,
  ): Promise<Omit<RecordPaymentResult, 'customerId'>> {
    if (!(await directPayments.claim(manager, payment, now))) {
      const existing = await directPayments.find(manager, payment.paymentId);
      // Rows are never deleted, and the claim only fails on a committed one.
      if (!existing) throw new Error(`payment ${payment.paymentId} conflicted but is missing`);
      return this.recorded(manager, payment, existing, now);
    }
    if (payment.settling) {
      return { replayed: false, grantId: '', balance: 0, authorizationOpen: false, claimed: true };
    }

    const upto = payment.authorization;
    if (!upto) {
      const grantId = await grantCharge(this.grants, manager, payment);
      return this.granted(manager, payment, grantId);
    }
    // Refused here, rolling the row back: a replay (below) may come after the hold ended.
    checkHold(upto, now);
    const grantId = await grantPayment(this.grants, manager, payment.paymentId, {
      customerId: payment.customerId,
      amount: payment.credits,
      source: 'authorization',
      // Spent first: what the customer uses of an authorization is all it pays for it.
      priority: 0,
      // The hold was checked against `now`: the grant is effective from then on.
      effectiveAt: now,
      expiresAt: upto.holdUntil,
      description: `upto authorization ${payment.paymentId}`,
    });
    return this.granted(manager, payment, grantId);
  }

  /**
   * The payment id was recorded before: a journaled charge is taken over or completed by its
   * customer's gateway; anything else is a replay that changes nothing.
   */
  private async recorded(
    manager: EntityManager,
    payment: RecordPayment,
    existing: DirectPaymentRow,
    now: Date,
  ): Promise<Omit<RecordPaymentResult, 'customerId'>> {
    const ours = existing.customer_id === payment.customerId;
    if (!ours) {
      this.logger.warn(
        {
          paymentId: payment.paymentId,
          customerId: payment.customerId,
          recordedFor: existing.customer_id,
          requestId: payment.requestId,
        },
        'payment credential replayed by another customer',
      );
    }
    const journaled = existing.intent === 'charge' && existing.status !== 'settled';
    if (ours && journaled && !payment.authorization) {
      if (payment.settling) {
        const claimedUntil = new Date(now.getTime() + payment.settling.claimSeconds * 1000);
        const claimed = await directPayments.takeOver(
          manager,
          payment.paymentId,
          now,
          claimedUntil,
        );
        return { replayed: false, grantId: '', balance: 0, authorizationOpen: false, claimed };
      }
      // Its settlement, reported: the credits are granted now, once.
      const row = await directPayments.settleCharge(
        manager,
        payment.paymentId,
        payment.transaction,
        now,
      );
      if (row) {
        const grantId = await grantCharge(this.grants, manager, payment);
        return this.granted(manager, payment, grantId);
      }
    }
    return {
      replayed: true,
      grantId: existing.grant_id ?? '',
      balance: await this.balance(manager, payment.customerId),
      authorizationOpen: ours && this.holdOpen(existing, now),
      claimed: false,
    };
  }

  private async granted(
    manager: EntityManager,
    payment: RecordPayment,
    grantId: string,
  ): Promise<Omit<RecordPaymentResult, 'customerId'>> {
    return {
      replayed: false,
      grantId,
      balance: await this.ledger.available(manager, payment.customerId),
      authorizationOpen: false,
      claimed: false,
    };
  }

  /** An authorization whose credits are still spendable (its hold did not end). */
  private holdOpen(payment: DirectPaymentRow, now: Date): boolean {
    return (
      payment.intent === 'upto' &&
      payment.status === 'authorized' &&
      payment.hold_until !== null &&
      payment.hold_until > now
    );
  }

  /** Grants that became effective or expired since the last change apply before reading. */
  private async balance(manager: EntityManager, customerId: string): Promise<number> {
    await this.grants.settleDue(manager, customerId);
    return this.ledger.available(manager, customerId);
  }
}
