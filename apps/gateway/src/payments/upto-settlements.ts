import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { every } from '@paygate/clock';
import type { CompleteSettlementRequest, PaymentSettlement } from '@paygate/contracts';
import { counter } from '@paygate/observability';
import {
  credentialHeaders,
  type PaymentFacilitator,
  type PaymentRequirement,
  parsePaymentCredential,
} from '@paygate/payments';
import { GatewayConfig } from '../config/gateway.config';
import { EntitlementClient } from '../decisions/entitlement.client';
import { PAYMENT_FACILITATOR } from './payment-acceptance';
import { UncreditedPayments } from './uncredited-payments';

const settlements = counter(
  'paygate_gateway_upto_settlements_total',
  'Payments this gateway settled after the fact (upto holds ended, journaled charges), by outcome',
  ['outcome'],
);

/** Authorizations claimed per round, and how long this gateway has to settle them. */
const CLAIM_LIMIT = 20;
const CLAIM_SECONDS = 60;

/** Facilitator answers that may succeed later: the claim lapses and the settlement is retried. */
const TRANSIENT = /timeout|unavailable/;

/**
 * Settles payments after the fact (docs/payments.md): `upto` authorizations once their hold
 * ended, and journaled `exact` payments whose gateway never reported their settlement (it died
 * between settling and crediting, or gave up). The entitlement service hands out those due with
 * the amount to settle (ClaimSettlements: what an authorization's used credits are worth, a
 * charge's full amount), this gateway settles it through the facilitator and reports the
 * outcome; a settled charge is then credited. Any replica may do it; a claim that lapses (this
 * process died mid-way) is handed to another.
 * Settling one payment id twice is safe on paygate:test (idempotent) and refused on chain
 * (the nonce is spent), which is why a transient failure is retried only after the claim
 * lapsed, never at once. For the same reason a settlement whose report fails (the service went
 * away between the two) is kept with its transaction and reported before anything else next
 * round, well within the claim, and never settled again by this gateway.
 */
@Injectable()
export class UptoSettlements implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(UptoSettlements.name);
  private stop?: () => void;
  private running?: Promise<number>;
  private failing = false;
  /** Settled here, their report not through yet: reported first thing each round. */
  private readonly unreported = new Map<
    string,
    CompleteSettlementRequest & { customerId: string }
  >();

  constructor(
    @Inject(GatewayConfig) private readonly config: GatewayConfig,
    @Inject(PAYMENT_FACILITATOR) private readonly facilitator: PaymentFacilitator,
    private readonly entitlement: EntitlementClient,
    private readonly uncredited: UncreditedPayments,
  ) {}

  onApplicationBootstrap(): void {
    this.stop = every(
      this.config.PAYMENT_SETTLE_INTERVAL_MS,
      () => this.settleDue(),
      (err) => {
        // Once per outage: the rounds go on every interval while the service is away.
        if (this.failing) return;
        this.failing = true;
        this.logger.warn({ err: (err as Error).message }, 'settlement rounds failing');
      },
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stop?.();
    await this.running?.catch(() => undefined);
    await this.reportSettled().catch(() => undefined);
    for (const report of this.unreported.values()) {
      this.logger.error(
        {
          paymentId: report.paymentId,
          customerId: report.customerId,
          transaction: report.transaction,
        },
        'shutting down with a settled payment not reported: complete it by hand with this transaction',
      );
    }
  }

  /** One round: claims what is due and settles it; returns how many were settled. */
  settleDue(): Promise<number> {
    // Rounds never overlap: a slow facilitator must not make this replica claim more.
    if (this.running) return this.running;
    this.running = this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<number> {
    await this.reportSettled();
    const due = await this.entitlement.claimSettlements(CLAIM_LIMIT, CLAIM_SECONDS);
    if (this.failing) {
      this.failing = false;
      this.logger.log('settlement rounds working again');
    }
    let settled = 0;
    for (const settlement of due) {
      if (await this.settle(settlement)) settled++;
    }
    return settled;
  }

  /** Reports what this gateway settled but could not report; throws while the service is away. */
  private async reportSettled(): Promise<void> {
    for (const [paymentId, kept] of this.unreported) {
      const { settled, transaction, failure } = kept;
      const report = { paymentId, settled, transaction, failure };
      await this.entitlement.completeSettlement(report);
      this.unreported.delete(paymentId);
      settlements.inc({ outcome: 'settled' });
      this.logger.log(
        { paymentId, transaction: report.transaction },
        'settlement reported after its first report failed',
      );
    }
  }

  private async settle(settlement: PaymentSettlement): Promise<boolean> {
    const { paymentId } = settlement;
    const payment = parsePaymentCredential(
      credentialHeaders(
        settlement.protocol === 'x402' ? 'x402' : 'payment-auth',
        settlement.credential,
      ),
    );
    if (!payment || 'error' in payment || payment.paymentId !== paymentId) {
      return this.fail(settlement, 'the stored credential does not read back');
    }
    const stored = JSON.parse(settlement.requirement) as PaymentRequirement;
    const requirement = { ...stored, expiresAt: new Date(stored.expiresAt) };
    // Settled by this gateway, which could not credit or report it yet: never settled again.
    const known =
      this.uncredited.transactionOf(paymentId) ?? this.unreported.get(paymentId)?.transaction;
    let result: Awaited<ReturnType<PaymentFacilitator['settle']>>;
    try {
      result = known
        ? { settled: true, transaction: known }
        : await this.facilitator.settle(
            payment,
            requirement,
            // A charge settles for what it says; only an authorization for what was used.
            payment.intent === 'upto' ? settlement.amount : undefined,
          );
    } catch (err) {
      result = { settled: false as const, reason: `unavailable: ${(err as Error).message}` };
    }
    if (!result.settled) {
      if (TRANSIENT.test(result.reason)) {
        settlements.inc({ outcome: 'retry' });
        this.logger.warn({ paymentId, reason: result.reason }, 'settlement to be retried');
        return false;
      }
      return this.fail(settlement, result.reason, payment.intent);
    }
    const report = { paymentId, settled: true, transaction: result.transaction, failure: '' };
    // Kept until the report is through: the money moved, and a second settle would be refused.
    this.unreported.set(paymentId, { ...report, customerId: settlement.customerId });
    try {
      await this.entitlement.completeSettlement(report);
    } catch (err) {
      settlements.inc({ outcome: 'unreported' });
      this.logger.error(
        {
          paymentId,
          customerId: settlement.customerId,
          transaction: result.transaction,
          err: (err as Error).message,
        },
        'payment settled but its report failed: reported again next round',
      );
      // The service is away: the rest of the round waits for it (their claims lapse meanwhile).
      throw err;
    }
    this.unreported.delete(paymentId);
    settlements.inc({ outcome: 'settled' });
    this.logger.log(
      {
        paymentId,
        customerId: settlement.customerId,
        amount: settlement.amount,
        creditsUsed: settlement.creditsUsed,
        transaction: result.transaction,
      },
      payment.intent === 'upto' ? 'authorization settled' : 'journaled payment settled',
    );
    return true;
  }

  private async fail(
    settlement: PaymentSettlement,
    reason: string,
    intent: 'charge' | 'upto' = 'upto',
  ): Promise<boolean> {
    await this.entitlement.completeSettlement({
      paymentId: settlement.paymentId,
      settled: false,
      transaction: '',
      failure: reason.slice(0, 500),
    });
    settlements.inc({ outcome: 'failed' });
    this.logger.error(
      { paymentId: settlement.paymentId, customerId: settlement.customerId, reason },
      intent === 'upto'
        ? 'authorization could not be settled: its used credits are unpaid'
        : // Nothing was granted. On chain a repeat is refused: the gateway that journaled it may
          // have settled it before dying; its transaction, reported later, still credits it.
          'journaled payment could not be settled: nothing credited (check the payer for a settlement)',
    );
    return false;
  }
}
