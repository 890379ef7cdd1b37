/**
 * The facilitator of paygate:test: checks a voucher's Ed25519 signature and terms, and settles
 * it into a TestSettlementLedger. Takes both protocols (the voucher is the `payload` of the x402
 * PaymentPayload and of the Payment credential alike). Refuses everything unless enabled, so a
 * deployment cannot take test vouchers for real credits by accident.
 */
import { isDecimalAmount } from './amount';
import { matchOffer } from './offer-match';
import { isTestNetwork } from './networks';
import { TestSettlementLedger } from './test-settlement-ledger';
import { parseTestVoucherPayload, TestVoucher, verifyTestVoucher } from './test-voucher';
import { parseRfc3339 } from './time';
import type {
  ParsedPayment,
  PaymentFacilitator,
  PaymentRequirement,
  SettleResult,
  VerifyResult,
} from './types';

export interface TestFacilitatorOptions {
  /** Must be true for paygate:test payments to be taken at all. */
  enabled: boolean;
  /** The clock voucher expiry is checked against; defaults to the system clock. */
  now?: () => Date;
  /** Where settlements go; a fresh ledger by default. */
  ledger?: TestSettlementLedger;
}

type Refusal = { reason: string };

export class TestFacilitator implements PaymentFacilitator {
  readonly ledger: TestSettlementLedger;
  private readonly enabled: boolean;
  private readonly now: () => Date;

  constructor(options: TestFacilitatorOptions) {
    this.enabled = options.enabled === true;
    this.now = options.now ?? (() => new Date());
    this.ledger = options.ledger ?? new TestSettlementLedger();
  }

  /**
   * The voucher behind a payment, if its signature holds and it says what the payment says:
   * the parsed fields come from the envelope (the x402 `accepted` offer, or the Payment
   * challenge's request), so they count only where the payer signed the same.
   */
  private signedVoucher(payment: ParsedPayment): TestVoucher | Refusal {
    if (!this.enabled) return { reason: 'test-network-disabled' };
    if (!isTestNetwork(payment.network)) return { reason: 'wrong-network' };
    const envelope = payment.raw as { payload?: unknown } | null;
    const parsed = parseTestVoucherPayload(envelope?.payload);
    if (!parsed) return { reason: 'invalid-payload' };
    if (!verifyTestVoucher(parsed)) return { reason: 'invalid-signature' };
    const voucher = parsed.voucher;
    const signedAsClaimed =
      voucher.asset === payment.asset &&
      voucher.payTo === payment.payTo &&
      voucher.amount === payment.amount &&
      voucher.payer === payment.payer &&
      `${voucher.network}:${voucher.payer}:${voucher.nonce}` === payment.paymentId &&
      (payment.protocol === 'x402' || voucher.challengeId === payment.challengeId);
    return signedAsClaimed ? voucher : { reason: 'invalid-signature' };
  }

  private expired(voucher: TestVoucher): boolean {
    const validBefore = parseRfc3339(voucher.validBefore);
    return !validBefore || validBefore.getTime() <= this.now().getTime();
  }

  async verify(payment: ParsedPayment, requirement: PaymentRequirement): Promise<VerifyResult> {
    const voucher = this.signedVoucher(payment);
    if ('reason' in voucher) return { valid: false, reason: voucher.reason };
    if (payment.intent !== requirement.intent) return { valid: false, reason: 'wrong-scheme' };
    const match = matchOffer(requirement, { ...voucher, onNetwork: isTestNetwork });
    if ('reason' in match) return { valid: false, reason: match.reason };
    if (this.expired(voucher)) return { valid: false, reason: 'expired' };
    return { valid: true };
  }

  /**
   * Settles a verified payment. The signature is checked again (settle must not move money on
   * an unchecked claim); a paymentId already in the ledger returns its first settlement. An
   * `upto` payment settles `amount` (at most what the voucher authorizes; '0' moves nothing).
   */
  async settle(
    payment: ParsedPayment,
    _requirement?: PaymentRequirement,
    amount?: string,
  ): Promise<SettleResult> {
    const voucher = this.signedVoucher(payment);
    if ('reason' in voucher) return { settled: false, reason: voucher.reason };
    const owed = payment.intent === 'upto' && amount !== undefined ? amount : voucher.amount;
    if (!isDecimalAmount(owed)) return { settled: false, reason: 'invalid-amount' };
    if (BigInt(owed) > BigInt(voucher.amount)) {
      return { settled: false, reason: 'settlement-exceeds-amount' };
    }
    if (owed === '0') return { settled: true, transaction: '' };
    const existing = this.ledger.get(payment.paymentId);
    if (existing) {
      // The same signer and nonce over different terms is not a replay but a second voucher
      // reusing a nonce: refused, and the first stands.
      const same =
        existing.payTo === voucher.payTo &&
        existing.asset === voucher.asset &&
        existing.amount === owed;
      return same
        ? { settled: true, transaction: existing.transaction }
        : { settled: false, reason: 'payment-id-reused' };
    }
    if (this.expired(voucher)) return { settled: false, reason: 'expired' };
    const settlement = this.ledger.record({
      paymentId: payment.paymentId,
      payer: voucher.payer,
      payTo: voucher.payTo,
      asset: voucher.asset,
      amount: owed,
      settledAt: this.now(),
    });
    return { settled: true, transaction: settlement.transaction };
  }
}
