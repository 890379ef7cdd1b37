import { randomBytes } from 'node:crypto';
import { decodePaymentSignatureHeader } from '@x402/core/http';
import { PaymentPayloadV2Schema } from '@x402/core/schemas';
import { Credential } from 'mppx';
import { buildPaymentChallenges } from './challenges';
import { NOW, REALM, requirement, SECRET, walletAt } from '@test/payments.fixture';
import { TestWallet } from './test-wallet';

const challenges = buildPaymentChallenges(requirement(), {
  secret: SECRET,
  realm: REALM,
  now: NOW,
});

describe('TestWallet', () => {
  it('derives its address from the public key: 64 hex characters, stable per seed', () => {
    const seed = randomBytes(32);
    const wallet = TestWallet.fromSeed(seed);
    expect(wallet.address).toMatch(/^[0-9a-f]{64}$/);
    expect(TestWallet.fromSeed(seed).address).toBe(wallet.address);
    expect(TestWallet.fromSeed('alice').address).toBe(TestWallet.fromSeed('alice').address);
    expect(TestWallet.fromSeed('alice').address).not.toBe(TestWallet.fromSeed('bob').address);
    expect(TestWallet.generate().address).not.toBe(TestWallet.generate().address);
    expect(wallet.accountId).toBe(`paygate:test:${wallet.address}`);
    expect(() => TestWallet.fromSeed(new Uint8Array(31))).toThrow(RangeError);
  });

  it('writes a PAYMENT-SIGNATURE that @x402/core decodes to a v2 payment payload', () => {
    const header = walletAt('alice').payX402(challenges.paymentRequired);
    const payload = decodePaymentSignatureHeader(header);
    expect(PaymentPayloadV2Schema.safeParse(payload).success).toBe(true);
    expect(payload.accepted).toMatchObject({ network: 'paygate:test', amount: '300' });
    expect(payload.payload).toMatchObject({
      voucher: { validBefore: '2026-03-01T12:05:00Z', amount: '300' },
    });
  });

  it('writes an Authorization that mppx decodes to a credential echoing the challenge', () => {
    const authorization = walletAt('alice').payChallenge(challenges.wwwAuthenticate);
    const credential = Credential.deserialize(authorization);
    expect(credential.challenge.method).toBe('paygate');
    expect(credential.source).toBe(`did:pkh:${walletAt('alice').accountId}`);
    expect(credential.payload).toMatchObject({
      voucher: { challengeId: credential.challenge.id, validBefore: '2026-03-01T12:05:00Z' },
    });
  });

  it('refuses offers above its limit, expired challenges, and headers with nothing for it', () => {
    const alice = walletAt('alice');
    expect(() => alice.payX402(challenges.paymentRequired, { maxAmount: 299n })).toThrow();
    expect(() => alice.payChallenge(challenges.wwwAuthenticate, { maxAmount: 299n })).toThrow();
    expect(alice.payX402(challenges.paymentRequired, { maxAmount: 300n })).toEqual(
      expect.any(String),
    );
    const late = walletAt('alice', new Date('2026-03-01T12:05:00Z'));
    expect(() => late.payChallenge(challenges.wwwAuthenticate)).toThrow(/expired/);
    const evmOnly = buildPaymentChallenges(requirement({ assets: requirement().assets.slice(1) }), {
      secret: SECRET,
      realm: REALM,
      now: NOW,
    });
    expect(() => alice.payX402(evmOnly.paymentRequired)).toThrow();
    expect(() => alice.payChallenge(evmOnly.wwwAuthenticate)).toThrow();
  });
});
