import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import type { PaymentSettlement } from '@paygate/contracts';
import { counter } from '@paygate/observability';
import { DataSource, type EntityManager } from 'typeorm';
import { GrantsService } from '../credits/grants.service';
import { grantCharge } from './payment-grants';
import { type DirectPaymentRow, directPayments } from './direct-payments.repository';
import {
  type CompleteSettlement,
  parseClaimSettlements,
  parseCompleteSettlement,
} from './payment-settlements.input';
import { type Owed, paymentSettlements } from './payment-settlements.repository';

const settlements = counter(
  'paygate_payment_settlements_total',
  'Settlements reported after the fact (upto authorizations, journaled charges) by intent and ' +
    'outcome: settled, failed, retry, nothing-used (closed, nothing owed)',
  ['intent', 'outcome'],
);

/** An authorization's terms, exact: amounts may exceed 2^53. */
interface Terms {
  amount: string;
  amount_per_call: string | null;
  amount_per_unit: string | null;
}

/**
 * What an authorization settles for when `used` of its credits were used: nothing when none
 * were, else the price per call and per credit, never more than what was authorized.
 */
function settlementAmount(terms: Terms, used: bigint): bigint {
  if (used <= 0n) return 0n;
  const price = BigInt(terms.amount_per_call ?? 0) + used * BigInt(terms.amount_per_unit ?? 0);
  const authorized = BigInt(terms.amount);
  return price < authorized ? price : authorized;
}

/**
 * Settles payments after the fact (the gateway settles; this service decides what): journaled
 * charges whose gateway never reported their settlement (for their full amount, granting their
 * credits once settled), and `upto` authorizations once their hold ended. An authorization's grant expires at the hold's end with what was not used,
 * so what was used is its credits less what of them expired: credits burned, still held by a
 * lease, or paying off an overdraft. A lease that gives credits back after that returns them
 * to the customer, not to the authorization (see GrantsService.restore): they were paid for.
 */
@Injectable()
export class PaymentSettlementsUseCase {
  private readonly logger = new Logger(PaymentSettlementsUseCase.name);

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly grants: GrantsService,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /**
   * Hands out up to `limit` authorizations whose hold ended, each with what it owes, claimed
   * for `claimSeconds`: a claimer that does not complete one in time (it died) loses it to the
   * next claim. Those that owe nothing are closed here, and not handed out.
   * @throws DomainError `validation-failed` naming a bad limit or claimSeconds.
   */
  async claim(limit: number, claimSeconds: number): Promise<PaymentSettlement[]> {
    parseClaimSettlements({ limit, claimSeconds });
    const { claimed, closed } = await this.dataSource.transaction(async (manager) => {
      const now = this.clock.now();
      const claimedUntil = new Date(now.getTime() + claimSeconds * 1000);
      const due = await paymentSettlements.lockDue(manager, now, limit);
      const handedOut: PaymentSettlement[] = [];
      let owingNothing = 0;
      // Customers' balance rows (settleDue) are locked in one order, so claims never deadlock.
      for (const payment of due.sort(byCustomer)) {
        const owed =
          payment.status === 'settling'
            ? owedAsClaimed(payment)
            : await this.owed(manager, payment);
        if (!owed) continue;
        if (owed.amount === 0n) {
          await paymentSettlements.closeOwingNothing(
            manager,
            payment.payment_id,
            owed.creditsUsed,
            now,
          );
          owingNothing++;
          continue;
        }
        await paymentSettlements.claim(manager, payment.payment_id, owed, claimedUntil);
        handedOut.push(toSettlement(payment, owed));
      }
      return { claimed: handedOut, closed: owingNothing };
    });
    if (closed > 0) settlements.inc({ intent: 'upto', outcome: 'nothing-used' }, closed);
    return claimed;
  }

  /**
   * Records how settling a claimed payment ended: true if it was being settled, false (and
   * nothing changes) otherwise: unknown, never claimed, or completed before. A settled charge
   * gets its credits now; `retry` ends the claim so that it is handed out again at once.
   * @throws DomainError `validation-failed` naming the bad fields.
   */
  async complete(input: CompleteSettlement): Promise<boolean> {
    const outcome = parseCompleteSettlement(input);
    const now = this.clock.now();
    if (outcome.retry) {
      const ended = await paymentSettlements.endClaim(
        this.dataSource.manager,
        outcome.paymentId,
        now,
      );
      if (ended) settlements.inc({ intent: 'any', outcome: 'retry' });
      return ended;
    }
    const payment = await this.dataSource.transaction(async (manager) => {
      if (!outcome.settled)
        return paymentSettlements.markFailed(manager, outcome.paymentId, outcome.failure);
      const charge = await directPayments.settleCharge(
        manager,
        outcome.paymentId,
        outcome.transaction,
        now,
      );
      if (!charge)
        return paymentSettlements.markSettled(manager, outcome.paymentId, outcome.transaction, now);
      await grantCharge(this.grants, manager, {
        paymentId: charge.payment_id,
        customerId: charge.customer_id,
        credits: Number(charge.credits),
      });
      return charge;
    });
    if (!payment) return false;
    settlements.inc({ intent: payment.intent, outcome: outcome.settled ? 'settled' : 'failed' });
    if (!outcome.settled && payment.intent === 'charge') {
      // Nothing was granted for it. A facilitator that refuses a repeat refuses a payment its
      // first gateway settled before dying: if so, that settlement (reported later) still wins.
      this.logger.warn(
        {
          paymentId: payment.payment_id,
          customerId: payment.customer_id,
          failure: outcome.failure,
        },
        'journaled payment could not be settled: no credits granted',
      );
    } else if (!outcome.settled) {
      // The customer used the credits and the payer is not charged for them: a loss to report.
      this.logger.warn(
        {
          paymentId: payment.payment_id,
          customerId: payment.customer_id,
          creditsUsed: payment.credits_used,
          amount: payment.settle_amount,
          failure: outcome.failure,
        },
        'upto authorization could not be settled: used credits unpaid',
      );
    }
    return true;
  }

  /**
   * What an authorization owes once its grant expired at the hold's end; null (left for a
   * later claim) if the grant has not expired, which only a clock behind the hold can cause.
   */
  private async owed(manager: EntityManager, payment: DirectPaymentRow): Promise<Owed | null> {
    await this.grants.settleDue(manager, payment.customer_id);
    const grant = await paymentSettlements.grant(manager, payment.grant_id ?? '');
    if (grant.status !== 'expired') {
      this.logger.warn(
        { paymentId: payment.payment_id, grantId: payment.grant_id, holdUntil: payment.hold_until },
        'upto authorization past its hold but its grant did not expire: not settled yet',
      );
      return null;
    }
    const used = BigInt(payment.credits) - grant.expired;
    const creditsUsed = used > 0n ? used : 0n;
    return { creditsUsed, amount: settlementAmount(payment, creditsUsed) };
  }
}

const byCustomer = (a: DirectPaymentRow, b: DirectPaymentRow): number =>
  a.customer_id < b.customer_id ? -1 : a.customer_id > b.customer_id ? 1 : 0;

/** A claim that lapsed: handed out again for what was worked out the first time. */
const owedAsClaimed = (payment: DirectPaymentRow): Owed => ({
  creditsUsed: BigInt(payment.credits_used ?? 0),
  amount: BigInt(payment.settle_amount ?? 0),
});

const toSettlement = (payment: DirectPaymentRow, owed: Owed): PaymentSettlement => ({
  paymentId: payment.payment_id,
  customerId: payment.customer_id,
  protocol: payment.protocol ?? '',
  credential: payment.credential ?? '',
  requirement: payment.requirement ?? '',
  amount: owed.amount.toString(),
  creditsUsed: Number(owed.creditsUsed),
});
