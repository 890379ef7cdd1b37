import { encodePaymentSignatureHeader } from '@x402/core/http';
import { Challenge, Credential, evm } from 'mppx';
import { buildPaymentChallenges } from './challenges';
import { MAX_CREDENTIAL_LENGTH, parsePaymentCredential } from './credentials';
import {
  EVM_ACCEPTED,
  editX402,
  EVM_PAY_TO,
  NOW,
  payee,
  REALM,
  requirement,
  SECRET,
  USDC_BASE,
  walletAt,
} from '@test/payments.fixture';

const challenges = buildPaymentChallenges(requirement(), {
  secret: SECRET,
  realm: REALM,
  now: NOW,
});
const alice = walletAt('alice');

describe('parsePaymentCredential', () => {
  it('is undefined without a payment credential, or with another Authorization scheme', () => {
    expect(parsePaymentCredential({})).toBeUndefined();
    expect(parsePaymentCredential({ authorization: 'Bearer pg_live_abc' })).toBeUndefined();
    expect(parsePaymentCredential({ authorization: undefined, 'x-api-key': 'k' })).toBeUndefined();
  });

  it('reads PAYMENT-SIGNATURE (x402), whatever the header name case', () => {
    const header = alice.payX402(challenges.paymentRequired);
    for (const name of ['payment-signature', 'PAYMENT-SIGNATURE', 'Payment-Signature']) {
      expect(parsePaymentCredential({ [name]: header })).toMatchObject({
        protocol: 'x402',
        network: 'paygate:test',
        asset: 'credit',
        payTo: payee.address,
        amount: '300',
        payer: alice.address,
      });
    }
    const payment = parsePaymentCredential({ 'payment-signature': [header] });
    expect(payment).not.toHaveProperty('challengeId');
    expect(payment).toMatchObject({
      paymentId: expect.stringMatching(new RegExp(`^paygate:test:${alice.address}:[\\w-]{22}$`)),
    });
  });

  it('reads Authorization: Payment (payment auth), with the challenge id', () => {
    const authorization = alice.payChallenge(challenges.wwwAuthenticate);
    const id = Challenge.deserialize(challenges.wwwAuthenticate[0]).id;
    expect(parsePaymentCredential({ Authorization: authorization })).toMatchObject({
      protocol: 'payment-auth',
      challengeId: id,
      network: 'paygate:test',
      asset: 'credit',
      payTo: payee.address,
      amount: '300',
      payer: alice.address,
    });
  });

  it('gives each payment its own id', () => {
    const ids = new Set(
      [1, 2, 3].map(() => {
        const payment = parsePaymentCredential({
          'payment-signature': alice.payX402(challenges.paymentRequired),
        });
        return payment && 'paymentId' in payment ? payment.paymentId : undefined;
      }),
    );
    expect(ids.size).toBe(3);
  });

  /** An x402 EIP-3009 authorization of the EVM offer, signed with a dummy signature. */
  const evmHeader = (nonce: string, validBefore = '1772366700', scheme = 'exact') =>
    encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: { ...EVM_ACCEPTED, scheme },
      payload: {
        signature: `0x${'11'.repeat(65)}`,
        authorization: {
          from: '0x857b06519E91e3A54538791bDbb0E22373e36b66',
          to: EVM_PAY_TO,
          value: '3000',
          validAfter: '0',
          validBefore,
          nonce,
        },
      },
    });

  it('reads an x402 EVM payment: payer and nonce from the EIP-3009 authorization', () => {
    const nonce = `0x${'AB'.repeat(32)}`;
    const header = evmHeader(nonce);
    expect(parsePaymentCredential({ 'payment-signature': header })).toMatchObject({
      protocol: 'x402',
      network: 'eip155:8453',
      amount: '3000',
      payer: '0x857b06519E91e3A54538791bDbb0E22373e36b66',
      // Lowercased: the same authorization must not get two ids by case.
      paymentId: `eip155:8453:0x857b06519e91e3a54538791bdbb0e22373e36b66:${nonce.toLowerCase()}`,
    });
  });

  it('reads a validity past what a Date holds as the last Date, never as an Invalid Date', () => {
    const header = (validBefore: string) => evmHeader(`0x${'CD'.repeat(32)}`, validBefore, 'upto');
    for (const validBefore of ['8640000000001', String(Number.MAX_SAFE_INTEGER)]) {
      const payment = parsePaymentCredential({ 'payment-signature': header(validBefore) });
      const until = payment && 'validBefore' in payment ? payment.validBefore : undefined;
      expect(until?.getTime()).toBe(8.64e15);
    }
  });

  it('reads a Payment-auth evm credential (mppx evm charge payload)', () => {
    const challenge = Challenge.deserialize(challenges.wwwAuthenticate[1]);
    const authorization = Credential.serialize(
      Credential.from({
        challenge,
        payload: {
          type: 'authorization',
          from: '0x857b06519E91e3A54538791bDbb0E22373e36b66',
          to: EVM_PAY_TO,
          value: '3000',
          validAfter: '0',
          validBefore: '1772366700',
          nonce: evm.challengeHash(challenge),
          signature: `0x${'11'.repeat(65)}`,
        },
      }),
    );
    expect(parsePaymentCredential({ authorization })).toMatchObject({
      protocol: 'payment-auth',
      challengeId: challenge.id,
      network: 'eip155:8453',
      asset: USDC_BASE,
      payTo: EVM_PAY_TO,
      amount: '3000',
      payer: '0x857b06519E91e3A54538791bDbb0E22373e36b66',
    });
  });

  describe('malformed', () => {
    const x402 = alice.payX402(challenges.paymentRequired);
    const auth = alice.payChallenge(challenges.wwwAuthenticate);
    const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

    it.each<[string, Record<string, string | string[]>]>([
      ['empty PAYMENT-SIGNATURE', { 'payment-signature': '' }],
      ['PAYMENT-SIGNATURE not base64', { 'payment-signature': '%%%not base64%%%' }],
      ['PAYMENT-SIGNATURE base64 of non-JSON', { 'payment-signature': btoa('{"x402Version":') }],
      ['PAYMENT-SIGNATURE JSON of the wrong shape', { 'payment-signature': json({ hello: 1 }) }],
      ['PAYMENT-SIGNATURE JSON null', { 'payment-signature': json(null) }],
      [
        'x402 version 1',
        { 'payment-signature': editX402(x402, (payload) => (payload.x402Version = 1)) },
      ],
      [
        'an x402 scheme we do not take',
        { 'payment-signature': editX402(x402, (payload) => (payload.accepted.scheme = 'stream')) },
      ],
      [
        'a non-integer x402 amount',
        { 'payment-signature': editX402(x402, (payload) => (payload.accepted.amount = '1.5')) },
      ],
      [
        'a network we do not take',
        {
          'payment-signature': editX402(x402, (payload) => (payload.accepted.network = 'solana:x')),
        },
      ],
      [
        'a test payload that is not a voucher',
        { 'payment-signature': editX402(x402, (payload) => (payload.payload.signature = '!')) },
      ],
      ['repeated PAYMENT-SIGNATURE', { 'payment-signature': [x402, x402] }],
      ['both protocols at once', { 'payment-signature': x402, authorization: auth }],
      ['Authorization: Payment without a credential', { authorization: 'Payment' }],
      ['Authorization: Payment not base64url', { authorization: 'Payment %%%' }],
      [
        'Authorization: Payment of non-JSON',
        { authorization: `Payment ${Buffer.from('nope').toString('base64url')}` },
      ],
      [
        'Authorization: Payment of the wrong shape',
        { authorization: `Payment ${Buffer.from('{"a":1}').toString('base64url')}` },
      ],
      ['repeated Authorization', { authorization: [auth, auth] }],
      ['a huge PAYMENT-SIGNATURE', { 'payment-signature': 'A'.repeat(MAX_CREDENTIAL_LENGTH + 4) }],
      ['a huge Authorization', { authorization: `Payment ${'A'.repeat(MAX_CREDENTIAL_LENGTH)}` }],
    ])('%s', (_name, headers) => {
      expect(parsePaymentCredential(headers)).toEqual({
        error: 'malformed',
        detail: expect.any(String),
      });
    });

    it('an unknown Payment method or intent', () => {
      const challenge = Challenge.from({
        id: 'abc',
        realm: REALM,
        method: 'stripe',
        intent: 'charge',
        request: { amount: '1', currency: 'usd', recipient: 'acct_1' },
      });
      const unknownMethod = Credential.serialize(Credential.from({ challenge, payload: {} }));
      expect(parsePaymentCredential({ authorization: unknownMethod })).toMatchObject({
        error: 'malformed',
      });
      const subscription = Credential.serialize(
        Credential.from({ challenge: { ...challenge, intent: 'subscription' }, payload: {} }),
      );
      expect(parsePaymentCredential({ authorization: subscription })).toMatchObject({
        error: 'malformed',
      });
    });

    it('never throws, whatever the bytes', () => {
      const samples = ['', ' ', 'Payment ', '====', '\u0000\uffff', 'eyJ9', 'e30', 'W10', 'bnVsbA'];
      for (let i = 0; i < 200; i += 1) {
        samples.push(
          Buffer.from(Array.from({ length: i }, () => Math.random() * 256)).toString('base64'),
        );
      }
      for (const sample of samples) {
        expect(() => parsePaymentCredential({ 'payment-signature': sample })).not.toThrow();
        expect(() => parsePaymentCredential({ authorization: `Payment ${sample}` })).not.toThrow();
      }
    });
  });
});
