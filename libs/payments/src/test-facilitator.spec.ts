import { generateKeyPairSync } from 'node:crypto';
import { decodePaymentResponseHeader, encodePaymentSignatureHeader } from '@x402/core/http';
import { Receipt } from 'mppx';
import { buildPaymentChallenges, verifyChallengeId } from './challenges';
import { parsePaymentCredential } from './credentials';
import {
  editCredential,
  editX402,
  NOW,
  payee,
  REALM,
  requirement,
  SECRET,
  walletAt,
} from '@test/payments.fixture';
import { receiptHeaders } from './receipts';
import { TestFacilitator } from './test-facilitator';
import { signTestVoucher, testAddressOf } from './test-voucher';
import type { ParsedPayment, PaymentRequirement } from './types';

const options = { secret: SECRET, realm: REALM, now: NOW };

function parsed(headers: Record<string, string>): ParsedPayment {
  const payment = parsePaymentCredential(headers);
  if (!payment || 'error' in payment) throw new Error(`not parsed: ${JSON.stringify(payment)}`);
  return payment;
}

function x402(header: string): ParsedPayment {
  return parsed({ 'payment-signature': header });
}

function paymentAuth(header: string): ParsedPayment {
  return parsed({ authorization: header });
}

function facilitator(now: Date = NOW): TestFacilitator {
  return new TestFacilitator({ enabled: true, now: () => now });
}

/** A requirement for `units`, offering the test network only. */
function testOnly(units: number, amountPerUnit = '100'): PaymentRequirement {
  return requirement({
    units,
    assets: [{ network: 'paygate:test', asset: 'credit', payTo: payee.address, amountPerUnit }],
  });
}

describe('TestWallet → parse → TestFacilitator', () => {
  const req = requirement();
  const challenges = buildPaymentChallenges(req, options);
  const alice = walletAt('alice');

  it('x402: verifies, settles, and answers with a PAYMENT-RESPONSE @x402/core decodes', async () => {
    const payment = x402(alice.payX402(challenges.paymentRequired));
    const test = facilitator();
    await expect(test.verify(payment, req)).resolves.toEqual({ valid: true });
    const settled = await test.settle(payment);
    expect(settled).toEqual({
      settled: true,
      transaction: expect.stringMatching(/^paygate-test:/),
    });
    if (!settled.settled) return;
    const headers = receiptHeaders(payment, { transaction: settled.transaction, settledAt: NOW });
    expect(Object.keys(headers)).toEqual(['PAYMENT-RESPONSE']);
    expect(decodePaymentResponseHeader(headers['PAYMENT-RESPONSE'])).toEqual({
      success: true,
      transaction: settled.transaction,
      network: 'paygate:test',
      payer: alice.address,
      amount: '300',
    });
    expect(test.ledger.received(payee.address, 'credit')).toBe(300n);
  });

  it('payment auth: challenge id, verify, settle, and a Payment-Receipt mppx decodes', async () => {
    const payment = paymentAuth(alice.payChallenge(challenges.wwwAuthenticate));
    expect(verifyChallengeId(payment, options)).toMatchObject({ valid: true });
    const test = facilitator();
    await expect(test.verify(payment, req)).resolves.toEqual({ valid: true });
    const settled = await test.settle(payment);
    if (!settled.settled) throw new Error(settled.reason);
    const headers = receiptHeaders(payment, { transaction: settled.transaction, settledAt: NOW });
    expect(Object.keys(headers)).toEqual(['Payment-Receipt']);
    expect(Receipt.deserialize(headers['Payment-Receipt'])).toEqual({
      method: 'paygate',
      reference: settled.transaction,
      status: 'success',
      timestamp: '2026-03-01T12:00:00.000Z',
    });
  });

  it('takes an overpayment', async () => {
    const bigger = buildPaymentChallenges(testOnly(5), options);
    const payment = x402(alice.payX402(bigger.paymentRequired));
    await expect(facilitator().verify(payment, testOnly(3))).resolves.toEqual({ valid: true });
  });

  it('is exact past 2^53', async () => {
    const perUnit = '9007199254740993';
    const exact = buildPaymentChallenges(testOnly(1000, perUnit), options);
    const payment = x402(alice.payX402(exact.paymentRequired));
    expect(payment.amount).toBe('9007199254740993000');
    await expect(facilitator().verify(payment, testOnly(1000, perUnit))).resolves.toEqual({
      valid: true,
    });
    // One smallest unit short of the next price is underpaid, which a double could not tell.
    await expect(
      facilitator().verify(payment, testOnly(1000, '9007199254740994')),
    ).resolves.toEqual({ valid: false, reason: 'underpaid' });
  });
});

describe('TestFacilitator refuses', () => {
  const req = requirement();
  const challenges = buildPaymentChallenges(req, options);
  const alice = walletAt('alice');
  const x402Header = alice.payX402(challenges.paymentRequired);
  const authHeader = alice.payChallenge(challenges.wwwAuthenticate);

  it.each([
    [
      'x402',
      () =>
        x402(walletAt('bob').payX402(buildPaymentChallenges(testOnly(2), options).paymentRequired)),
    ],
    [
      'payment auth',
      () =>
        paymentAuth(
          walletAt('bob').payChallenge(
            buildPaymentChallenges(testOnly(2), options).wwwAuthenticate,
          ),
        ),
    ],
  ])('an underpayment (%s)', async (_protocol, pay) => {
    await expect(facilitator().verify(pay(), testOnly(3))).resolves.toEqual({
      valid: false,
      reason: 'underpaid',
    });
  });

  it('a payment to another recipient', async () => {
    const other = testOnly(3);
    other.assets[0].payTo = walletAt('mallory').address;
    await expect(facilitator().verify(x402(x402Header), other)).resolves.toEqual({
      valid: false,
      reason: 'wrong-recipient',
    });
  });

  it('a payment in another asset', async () => {
    const other = testOnly(3);
    other.assets[0].asset = 'gold';
    await expect(facilitator().verify(x402(x402Header), other)).resolves.toEqual({
      valid: false,
      reason: 'wrong-asset',
    });
  });

  it('a payment on another network, or where the test network is not offered', async () => {
    const evmOnly = requirement({ assets: requirement().assets.slice(1) });
    await expect(facilitator().verify(x402(x402Header), evmOnly)).resolves.toEqual({
      valid: false,
      reason: 'wrong-network',
    });
    const evmPayment: ParsedPayment = { ...x402(x402Header), network: 'eip155:8453' };
    await expect(facilitator().verify(evmPayment, req)).resolves.toEqual({
      valid: false,
      reason: 'wrong-network',
    });
  });

  it('a bad signature', async () => {
    const broken = editX402(x402Header, (payload) => {
      const signature = payload.payload.signature;
      payload.payload.signature = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    });
    await expect(facilitator().verify(x402(broken), req)).resolves.toEqual({
      valid: false,
      reason: 'invalid-signature',
    });
  });

  it.each<[string, (voucher: Record<string, string>) => void]>([
    ['amount', (voucher) => (voucher.amount = '30000')],
    ['recipient', (voucher) => (voucher.payTo = walletAt('mallory').address)],
    ['expiry', (voucher) => (voucher.validBefore = '2030-01-01T00:00:00Z')],
    ['payer', (voucher) => (voucher.payer = walletAt('mallory').address)],
  ])('a voucher whose %s was changed after signing', async (_field, tamper) => {
    const tampered = editX402(x402Header, (payload) => {
      tamper(payload.payload.voucher);
      // Keep the envelope in step, so only the signature can tell.
      Object.assign(payload.accepted, {
        amount: payload.payload.voucher.amount,
        payTo: payload.payload.voucher.payTo,
      });
    });
    const payment = x402(tampered);
    await expect(facilitator().verify(payment, req)).resolves.toEqual({
      valid: false,
      reason: 'invalid-signature',
    });
    await expect(facilitator().settle(payment)).resolves.toEqual({
      settled: false,
      reason: 'invalid-signature',
    });
  });

  it('an envelope that claims more than the voucher signed', async () => {
    const inflated = editX402(x402Header, (payload) => (payload.accepted.amount = '30000'));
    await expect(facilitator().verify(x402(inflated), req)).resolves.toEqual({
      valid: false,
      reason: 'invalid-signature',
    });
  });

  it('a voucher moved from one Payment challenge to another', async () => {
    // Same offer, later expiry: another challenge id (the description is not part of it).
    const again = buildPaymentChallenges(
      requirement({ expiresAt: new Date(NOW.getTime() + 4 * 60_000) }),
      options,
    );
    const other = alice.payChallenge(again.wwwAuthenticate);
    const moved = editCredential(other, (credential) => {
      credential.payload = JSON.parse(
        Buffer.from(authHeader.slice('Payment '.length), 'base64url').toString(),
      ).payload;
    });
    await expect(facilitator().verify(paymentAuth(moved), req)).resolves.toEqual({
      valid: false,
      reason: 'invalid-signature',
    });
  });

  it('an expired voucher', async () => {
    const late = walletAt('alice', new Date(NOW.getTime() - 10 * 60_000));
    const payment = x402(late.payX402(challenges.paymentRequired));
    await expect(facilitator().verify(payment, req)).resolves.toEqual({
      valid: false,
      reason: 'expired',
    });
    await expect(facilitator().settle(payment)).resolves.toEqual({
      settled: false,
      reason: 'expired',
    });
    // And a Payment voucher dies with its challenge.
    const afterChallenge = new Date('2026-03-01T12:05:00Z');
    await expect(facilitator(afterChallenge).verify(paymentAuth(authHeader), req)).resolves.toEqual(
      { valid: false, reason: 'expired' },
    );
  });

  it('everything while disabled', async () => {
    const disabled = new TestFacilitator({ enabled: false });
    await expect(disabled.verify(x402(x402Header), req)).resolves.toEqual({
      valid: false,
      reason: 'test-network-disabled',
    });
    await expect(disabled.settle(x402(x402Header))).resolves.toEqual({
      settled: false,
      reason: 'test-network-disabled',
    });
    expect(disabled.ledger.size).toBe(0);
  });
});

describe('TestFacilitator settlement', () => {
  const challenges = buildPaymentChallenges(requirement(), options);

  it('settles a replayed paymentId once, returning the first result', async () => {
    const test = facilitator();
    const header = walletAt('alice').payX402(challenges.paymentRequired);
    const first = await test.settle(x402(header));
    const second = await test.settle(x402(header));
    expect(second).toEqual(first);
    expect(test.ledger.size).toBe(1);
    expect(test.ledger.received(payee.address, 'credit')).toBe(300n);
    const another = await test.settle(x402(walletAt('alice').payX402(challenges.paymentRequired)));
    expect(another).not.toEqual(first);
    expect(test.ledger.received(payee.address, 'credit')).toBe(600n);
  });

  it('refuses a second voucher that reuses a settled nonce for other terms', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const payer = testAddressOf(publicKey);
    const voucher = (amount: string) =>
      encodePaymentSignatureHeader({
        x402Version: 2,
        accepted: {
          scheme: 'exact',
          network: 'paygate:test',
          amount,
          asset: 'credit',
          payTo: payee.address,
          maxTimeoutSeconds: 60,
          extra: {},
        },
        payload: {
          ...signTestVoucher(
            {
              network: 'paygate:test',
              asset: 'credit',
              payTo: payee.address,
              amount,
              payer,
              nonce: 'same-nonce-0123456789',
              validBefore: '2026-03-01T12:01:00Z',
            },
            privateKey,
          ),
        },
      });
    const test = facilitator();
    await expect(test.settle(x402(voucher('300')))).resolves.toMatchObject({ settled: true });
    await expect(test.settle(x402(voucher('400')))).resolves.toEqual({
      settled: false,
      reason: 'payment-id-reused',
    });
    expect(test.ledger.received(payee.address, 'credit')).toBe(300n);
  });

  describe('upto', () => {
    const upto = { ...requirement(), intent: 'upto' as const };
    const offered = buildPaymentChallenges(upto, options);

    it('parses the intent and the voucher validity, verifies against an upto requirement only', async () => {
      const payment = x402(walletAt('alice').payX402(offered.paymentRequired, { intent: 'upto' }));
      expect(payment.intent).toBe('upto');
      expect(payment.validBefore).toBeInstanceOf(Date);
      const test = facilitator();
      await expect(test.verify(payment, upto)).resolves.toEqual({ valid: true });
      await expect(test.verify(payment, requirement())).resolves.toEqual({
        valid: false,
        reason: 'wrong-scheme',
      });
    });

    it('settles what is owed, at most the authorized amount; nothing for 0; once per payment', async () => {
      const test = facilitator();
      const payment = x402(walletAt('alice').payX402(offered.paymentRequired, { intent: 'upto' }));
      await expect(test.settle(payment, upto, '301')).resolves.toEqual({
        settled: false,
        reason: 'settlement-exceeds-amount',
      });
      await expect(test.settle(payment, upto, '0')).resolves.toEqual({
        settled: true,
        transaction: '',
      });
      expect(test.ledger.size).toBe(0);
      const first = await test.settle(payment, upto, '120');
      expect(first).toMatchObject({ settled: true });
      await expect(test.settle(payment, upto, '120')).resolves.toEqual(first);
      await expect(test.settle(payment, upto, '130')).resolves.toEqual({
        settled: false,
        reason: 'payment-id-reused',
      });
      expect(test.ledger.received(payee.address, 'credit')).toBe(120n);
    });

    it('a Payment credential answering an upto challenge settles the same way', async () => {
      const test = facilitator();
      const payment = paymentAuth(
        walletAt('bob').payChallenge(offered.wwwAuthenticate, { intent: 'upto' }),
      );
      expect(payment.intent).toBe('upto');
      await expect(test.verify(payment, upto)).resolves.toEqual({ valid: true });
      await expect(test.settle(payment, upto, '100')).resolves.toMatchObject({ settled: true });
      expect(test.ledger.received(payee.address, 'credit')).toBe(100n);
    });

    it('an exact payment settles its own amount whatever amount is asked', async () => {
      const test = facilitator();
      const payment = x402(walletAt('carol').payX402(challenges.paymentRequired));
      await expect(test.settle(payment, requirement(), '1')).resolves.toMatchObject({
        settled: true,
      });
      expect(test.ledger.received(payee.address, 'credit')).toBe(300n);
    });
  });
});
