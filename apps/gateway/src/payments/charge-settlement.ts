import { Inject, Injectable, Logger } from '@nestjs/common';
import type { RecordPaymentRequest, RecordPaymentResponse } from '@paygate/contracts';
import {
  type ParsedPayment,
  type PaymentFacilitator,
  type PaymentRequirement,
  receiptHeaders,
} from '@paygate/payments';
import type { ProblemInput } from '@paygate/problem-details';
import type { ProxyRequest } from '../proxy/proxy-request';
import { GatewayConfig } from '../config/gateway.config';
import { EntitlementClient, EntitlementUnavailableError } from '../decisions/entitlement.client';
import { PAYMENT_FACILITATOR } from './payment-facilitator';
import { paymentUnavailable, payments } from './payment-metrics';
import { type Payer, payerKeyOf, type PaymentOutcome } from './payment-outcome';
import { type Uncredited, UncreditedPayments } from './uncredited-payments';

/**
 * An `exact` payment, verified, from journal to credit: journaled before it is settled (a
 * gateway that dies after settling leaves behind what settles and credits it, and the journal
 * hands the payment to one request at a time), settled with the facilitator, then reported,
 * which credits it once. A settlement the service could not credit is never settled again:
 * UncreditedPayments retries the credit, and the same credential sent again is credited from it.
 */
@Injectable()
export class ChargeSettlement {
  private readonly logger = new Logger(ChargeSettlement.name);

  constructor(
    @Inject(GatewayConfig) private readonly config: GatewayConfig,
    @Inject(PAYMENT_FACILITATOR) private readonly facilitator: PaymentFacilitator,
    private readonly entitlement: EntitlementClient,
    private readonly uncredited: UncreditedPayments,
  ) {}

  /** Journals, settles and credits `units` credits for the payment; `refuse` words a refusal. */
  async settle(
    request: ProxyRequest,
    payer: Payer,
    parsed: ParsedPayment,
    units: number,
    requirement: PaymentRequirement,
    now: Date,
    refuse: (code: ProblemInput['code'], reason: string) => PaymentOutcome,
  ): Promise<PaymentOutcome> {
    const record: RecordPaymentRequest = {
      ...('customerId' in payer
        ? { customerId: payer.customerId }
        : { customerId: '', payerPlan: payer.plan }),
      paymentId: parsed.paymentId,
      credits: units,
      network: parsed.network,
      asset: parsed.asset,
      amount: parsed.amount,
      payer: parsed.payer,
      transaction: '',
      requestId: String(request.id),
    };
    let journal;
    try {
      journal = await this.entitlement.recordPayment({
        ...record,
        settling: {
          protocol: parsed.protocol,
          credential: parsed.credential,
          requirement: JSON.stringify(requirement),
          claimSeconds: this.config.PAYMENT_JOURNAL_CLAIM_SECONDS,
        },
      });
    } catch (err) {
      return this.unavailable(parsed, 'journal', err);
    }
    if (journal.replayed) return refuse('payment-replayed', 'replayed');
    if (!journal.claimed) {
      // Another request (here or on another replica) is settling it: ask again shortly.
      return this.unavailable(parsed, 'journal', new Error('being settled by another request'));
    }

    let settled;
    try {
      settled = await this.facilitator.settle(parsed, requirement);
    } catch (err) {
      return this.notSettled(parsed, err);
    }
    if (!settled.settled) {
      // A timeout may have settled after all: the same credential, sent again, settles to the
      // same result and is credited once.
      if (/timeout|unavailable/.test(settled.reason))
        return this.notSettled(parsed, new Error(settled.reason));
      void this.entitlement
        .completeSettlement({
          paymentId: parsed.paymentId,
          settled: false,
          transaction: '',
          failure: settled.reason.slice(0, 500),
        })
        // Unreported, the claim lapses and the payment is settled (and refused) again.
        .catch(() => undefined);
      return refuse('payment-invalid', settled.reason);
    }

    const report = { ...record, transaction: settled.transaction };
    let recorded;
    try {
      recorded = await this.entitlement.recordPayment(report);
    } catch (err) {
      // Settled, not credited: never settled again here (a facilitator may refuse the repeat);
      // the credit is retried in the background and by this credential's next request.
      if (err instanceof EntitlementUnavailableError)
        this.uncredited.add(parsed.credential, report);
      return this.unavailable(parsed, 'record', err);
    }
    // Replayed: credited meanwhile by a gateway that took the payment over (this one was slow
    // past its claim); either way this request paid, and its credits are the customer's.
    return this.credited(request, payer, parsed, report, recorded, now);
  }

  /**
   * Settling did not end and may have gone through: the journal's claim ends now, so the
   * payer's retry (or the settlement rounds) settles it again, which a facilitator answers
   * with the same result.
   */
  private notSettled(parsed: ParsedPayment, err: unknown): PaymentOutcome {
    void this.entitlement
      .completeSettlement({
        paymentId: parsed.paymentId,
        settled: false,
        retry: true,
        transaction: '',
        failure: (err as Error).message.slice(0, 500),
      })
      // Unreported, the claim lapses on its own.
      .catch(() => undefined);
    return this.unavailable(parsed, 'settle', err);
  }

  /**
   * A credential this gateway settled before while the entitlement service could not credit it
   * (UncreditedPayments): credited now without settling again, or served from the credit the
   * background made meanwhile.
   */
  async creditSettled(
    request: ProxyRequest,
    payer: Payer,
    parsed: ParsedPayment,
    earlier: Uncredited,
    now: Date,
  ): Promise<PaymentOutcome> {
    let recorded = earlier.kind === 'credited' ? earlier.response : undefined;
    if (!recorded) {
      try {
        recorded = await this.entitlement.recordPayment(earlier.record);
      } catch (err) {
        return this.unavailable(parsed, 'record', err);
      }
    }
    this.uncredited.done(parsed.paymentId);
    // Replayed: the settlement rounds credited it meanwhile (see UptoSettlements); this gateway
    // settled it for this payer, so it is this request's either way.
    return this.credited(request, payer, parsed, earlier.record, recorded, now);
  }

  private credited(
    request: ProxyRequest,
    payer: Payer,
    parsed: ParsedPayment,
    record: RecordPaymentRequest,
    recorded: RecordPaymentResponse,
    now: Date,
  ): PaymentOutcome {
    payments.inc({ outcome: 'credited' });
    const customerId = recorded.customerId || ('customerId' in payer ? payer.customerId : '');
    this.logger.log(
      {
        requestId: request.id,
        customerId,
        network: parsed.network,
        amount: parsed.amount,
        credits: record.credits,
        transaction: record.transaction,
      },
      'payment credited',
    );
    return {
      kind: 'credited',
      credits: record.credits,
      receipt: receiptHeaders(parsed, { transaction: record.transaction, settledAt: now }),
      customerId,
      payerKey: payerKeyOf(payer, parsed),
    };
  }

  private unavailable(payment: ParsedPayment, step: string, err: unknown): PaymentOutcome {
    return paymentUnavailable(this.logger, payment, step, err);
  }
}
