import type { CompleteSettlementRequest, PaymentSettlement } from '@paygate/contracts';
import {
  buildPaymentChallenges,
  parsePaymentCredential,
  type PaymentFacilitator,
  type SettleResult,
} from '@paygate/payments';
import { NOW, REALM, requirement, SECRET, walletAt } from '@test/payments.fixture';
import type { GatewayConfig } from '../config/gateway.config';
import type { EntitlementClient } from '../decisions/entitlement.client';
import { UncreditedPayments } from './uncredited-payments';
import { UptoSettlements } from './upto-settlements';

/** An upto authorization whose hold ended, as ClaimSettlements hands it out: 3 of 10 used. */
function dueSettlement(): PaymentSettlement {
  const upto = requirement({ intent: 'upto' });
  const offered = buildPaymentChallenges(upto, { secret: SECRET, realm: REALM, now: NOW });
  const credential = walletAt('alice').payX402(offered.paymentRequired, { intent: 'upto' });
  const parsed = parsePaymentCredential({ 'payment-signature': credential });
  if (!parsed || 'error' in parsed) throw new Error('the credential does not parse');
  return {
    paymentId: parsed.paymentId,
    customerId: 'customer-1',
    protocol: 'x402',
    credential,
    requirement: JSON.stringify(upto),
    amount: '90',
    creditsUsed: 3,
  };
}

/** A facilitator that settles a payment id once and refuses a repeat, as a chain does. */
class OnceFacilitator implements Partial<PaymentFacilitator> {
  readonly settled: { paymentId: string; amount?: string }[] = [];
  async settle(payment: { paymentId: string }, _r?: unknown, amount?: string) {
    if (this.settled.some((s) => s.paymentId === payment.paymentId)) {
      return { settled: false, reason: 'payment-id-reused' } satisfies SettleResult;
    }
    this.settled.push({ paymentId: payment.paymentId, amount });
    return { settled: true, transaction: `tx-${this.settled.length}` } satisfies SettleResult;
  }
}

/**
 * Settlement rounds against a stand-in service that hands out one due settlement until its
 * settlement is reported (its claim lapses in between) and fails the first `failures` reports.
 */
function roundsWith(failures: number) {
  const due = dueSettlement();
  const reports: CompleteSettlementRequest[] = [];
  let failuresLeft = failures;
  const entitlement = {
    claimSettlements: jest.fn(async () => (reports.length === 0 ? [due] : [])),
    completeSettlement: jest.fn(async (report: CompleteSettlementRequest) => {
      if (failuresLeft-- > 0) throw new Error('entitlement unavailable');
      reports.push(report);
      return true;
    }),
  };
  const facilitator = new OnceFacilitator();
  const client = entitlement as unknown as EntitlementClient;
  const rounds = new UptoSettlements(
    { PAYMENT_SETTLE_INTERVAL_MS: 60_000 } as GatewayConfig,
    facilitator as unknown as PaymentFacilitator,
    client,
    new UncreditedPayments(client),
  );
  const settledReport = {
    paymentId: due.paymentId,
    settled: true,
    transaction: 'tx-1',
    failure: '',
  };
  return { due, reports, entitlement, facilitator, rounds, settledReport };
}

describe('UptoSettlements', () => {
  it('keeps a settlement whose report failed and reports it next round, never settling it again', async () => {
    // The service goes away between the settle and its report, for two rounds.
    const { due, reports, entitlement, facilitator, rounds, settledReport } = roundsWith(2);
    await expect(rounds.settleDue()).rejects.toThrow('entitlement unavailable');
    expect(facilitator.settled).toEqual([{ paymentId: due.paymentId, amount: '90' }]);
    // Still away: the kept report fails first, before anything is claimed.
    await expect(rounds.settleDue()).rejects.toThrow('entitlement unavailable');
    expect(entitlement.claimSettlements).toHaveBeenCalledTimes(1);
    // Back: the kept report goes first, with the transaction that moved the money.
    await rounds.settleDue();
    expect(reports).toEqual([settledReport]);
    await rounds.settleDue();
    expect(facilitator.settled).toHaveLength(1);
    expect(reports).toHaveLength(1);
  });

  it('tries a kept report once more when shutting down', async () => {
    const { reports, facilitator, rounds, settledReport } = roundsWith(1);
    await expect(rounds.settleDue()).rejects.toThrow('entitlement unavailable');
    // Shutting down: the kept report is tried once more, and goes through.
    await rounds.onApplicationShutdown();
    expect(reports).toEqual([settledReport]);
    expect(facilitator.settled).toHaveLength(1);
  });
});
