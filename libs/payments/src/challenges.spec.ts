import { createHmac } from 'node:crypto';
import { decodePaymentRequiredHeader } from '@x402/core/http';
import { PaymentRequiredV2Schema } from '@x402/core/schemas';
import { Challenge, evm } from 'mppx';
import { buildPaymentChallenges, verifyChallengeId } from './challenges';
import { parsePaymentCredential } from './credentials';
import {
  editCredential,
  EVM_PAY_TO,
  NOW,
  payee,
  REALM,
  requirement,
  SECRET,
  USDC_BASE,
  walletAt,
} from '@test/payments.fixture';
import type { ParsedPayment } from './types';

const options = { secret: SECRET, realm: REALM, now: NOW };

function paid(authorization: string): ParsedPayment {
  const payment = parsePaymentCredential({ authorization });
  if (!payment || 'error' in payment) throw new Error(`not parsed: ${JSON.stringify(payment)}`);
  return payment;
}

describe('buildPaymentChallenges: PAYMENT-REQUIRED', () => {
  it('decodes with @x402/core and passes its x402 v2 PaymentRequired schema', () => {
    const { paymentRequired } = buildPaymentChallenges(requirement(), options);
    const decoded = decodePaymentRequiredHeader(paymentRequired);
    expect(PaymentRequiredV2Schema.safeParse(decoded).success).toBe(true);
    expect(decoded).toEqual({
      x402Version: 2,
      resource: {
        url: 'https://gateway.example/api/reports?period=2026-02',
        description: 'Monthly report',
      },
      accepts: [
        {
          scheme: 'exact',
          network: 'paygate:test',
          amount: '300',
          asset: 'credit',
          payTo: payee.address,
          maxTimeoutSeconds: 300,
          extra: {},
        },
        {
          scheme: 'exact',
          network: 'eip155:8453',
          amount: '3000',
          asset: USDC_BASE,
          payTo: EVM_PAY_TO,
          maxTimeoutSeconds: 300,
          extra: { name: 'USD Coin', version: '2' },
        },
      ],
    });
  });

  it('offers the upto scheme for the upto intent, and carries an error message', () => {
    const { paymentRequired } = buildPaymentChallenges(requirement({ intent: 'upto' }), {
      ...options,
      error: 'insufficient credits',
    });
    const decoded = decodePaymentRequiredHeader(paymentRequired);
    expect(decoded.error).toBe('insufficient credits');
    expect(decoded.accepts.map((offer) => offer.scheme)).toEqual(['upto', 'upto']);
  });

  it('multiplies amounts past 2^53 exactly', () => {
    const perUnit = '9007199254740993'; // 2^53 + 1: not a double
    const { paymentRequired, problemMember } = buildPaymentChallenges(
      requirement({
        units: 1000,
        assets: [
          { network: 'paygate:test', asset: 'wei', payTo: payee.address, amountPerUnit: perUnit },
        ],
      }),
      options,
    );
    const expected = (9007199254740993n * 1000n).toString();
    expect(expected).toBe('9007199254740993000');
    expect(decodePaymentRequiredHeader(paymentRequired).accepts[0].amount).toBe(expected);
    expect(problemMember.offers[0].amount).toBe(expected);
  });
});

describe('buildPaymentChallenges: WWW-Authenticate', () => {
  it('gives one Payment challenge per offer, which mppx parses back', () => {
    const { wwwAuthenticate } = buildPaymentChallenges(requirement(), options);
    expect(wwwAuthenticate).toHaveLength(2);
    const [test, chain] = wwwAuthenticate.map((value) => Challenge.deserialize(value));
    expect(test).toMatchObject({
      realm: REALM,
      method: 'paygate',
      intent: 'charge',
      expires: '2026-03-01T12:05:00Z',
      description: 'Monthly report',
      request: {
        amount: '300',
        currency: 'credit',
        recipient: payee.address,
        methodDetails: { network: 'paygate:test' },
      },
    });
    expect(chain).toMatchObject({ method: 'evm', intent: 'charge' });
    // The evm request is what mppx's own evm charge schema reads.
    expect(evm.ChargeRequestSchema.parse(chain.request)).toEqual({
      amount: '3000',
      currency: USDC_BASE,
      recipient: EVM_PAY_TO,
      methodDetails: { chainId: 8453, credentialTypes: ['authorization'] },
    });
    // Several challenges folded into one header value still parse, one by one.
    expect(Challenge.deserializeList(wwwAuthenticate.join(', ')).map((c) => c.id)).toEqual([
      test.id,
      chain.id,
    ]);
  });

  it('binds the id by HMAC-SHA256 over realm|method|intent|request|expires|digest|opaque', () => {
    const { wwwAuthenticate } = buildPaymentChallenges(requirement(), options);
    for (const header of wwwAuthenticate) {
      const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(header)?.[1] ?? '';
      // The draft's recipe, computed here without mppx: the request as it is on the wire.
      const input = [param('realm'), param('method'), param('intent'), param('request')]
        .concat([param('expires'), '', ''])
        .join('|');
      expect(param('id')).toBe(createHmac('sha256', SECRET).update(input).digest('base64url'));
    }
  });

  it('offers no Payment challenge where no method carries the intent (EVM upto)', () => {
    const { wwwAuthenticate, problemMember } = buildPaymentChallenges(
      requirement({ intent: 'upto' }),
      options,
    );
    expect(wwwAuthenticate.map((value) => Challenge.deserialize(value).method)).toEqual([
      'paygate',
    ]);
    expect(problemMember.offers[1].paymentAuth).toBeUndefined();
    expect(problemMember.offers[1].x402).toEqual({ scheme: 'upto' });
  });

  it('lists the offers for the problem body', () => {
    const { problemMember, wwwAuthenticate } = buildPaymentChallenges(requirement(), options);
    expect(problemMember).toEqual({
      resource: 'https://gateway.example/api/reports?period=2026-02',
      units: 3,
      intent: 'charge',
      expires: '2026-03-01T12:05:00Z',
      offers: [
        {
          network: 'paygate:test',
          asset: 'credit',
          payTo: payee.address,
          amount: '300',
          x402: { scheme: 'exact' },
          paymentAuth: {
            id: Challenge.deserialize(wwwAuthenticate[0]).id,
            method: 'paygate',
            intent: 'charge',
          },
        },
        {
          network: 'eip155:8453',
          asset: USDC_BASE,
          payTo: EVM_PAY_TO,
          amount: '3000',
          x402: { scheme: 'exact' },
          paymentAuth: {
            id: Challenge.deserialize(wwwAuthenticate[1]).id,
            method: 'evm',
            intent: 'charge',
          },
        },
      ],
    });
    expect(JSON.parse(JSON.stringify(problemMember))).toEqual(problemMember);
  });

  it.each([
    ['a short secret', requirement(), { ...options, secret: 'short' }],
    ['no assets', requirement({ assets: [] }), options],
    ['a relative resource', requirement({ resource: '/api/reports' }), options],
    ['an expired requirement', requirement({ expiresAt: NOW }), options],
    ['zero units', requirement({ units: 0 }), options],
    ['fractional units', requirement({ units: 1.5 }), options],
    [
      'a malformed price',
      requirement({
        assets: [{ network: 'paygate:test', asset: 'c', payTo: 'p', amountPerUnit: '1e3' }],
      }),
      options,
    ],
  ])('refuses %s', (_name, req, opts) => {
    expect(() => buildPaymentChallenges(req, opts)).toThrow(RangeError);
  });
});

describe('verifyChallengeId', () => {
  const challenges = buildPaymentChallenges(requirement(), options);
  const authorization = walletAt('alice').payChallenge(challenges.wwwAuthenticate);

  it('accepts our own challenge before it expires', () => {
    expect(verifyChallengeId(paid(authorization), options)).toEqual({
      valid: true,
      expiresAt: new Date('2026-03-01T12:05:00Z'),
    });
  });

  it('refuses it at and after its expiry', () => {
    const at = new Date('2026-03-01T12:05:00Z');
    expect(verifyChallengeId(paid(authorization), { ...options, now: at })).toEqual({
      valid: false,
      reason: 'expired',
    });
  });

  it.each([
    ['id', (c: Record<string, unknown>) => (c.id = 'x'.repeat(43))],
    ['realm', (c: Record<string, unknown>) => (c.realm = 'evil.example')],
    [
      'expires (pushed later)',
      (c: Record<string, unknown>) => (c.expires = '2027-01-01T00:00:00Z'),
    ],
    [
      'request amount',
      (c: Record<string, unknown>) => {
        const request = JSON.parse(Buffer.from(c.request as string, 'base64url').toString());
        request.amount = '1';
        c.request = Buffer.from(JSON.stringify(request)).toString('base64url');
      },
    ],
    ['intent', (c: Record<string, unknown>) => (c.intent = 'upto')],
  ])('refuses a challenge with a tampered %s', (_field, tamper) => {
    const tampered = editCredential(authorization, (credential) => tamper(credential.challenge));
    expect(verifyChallengeId(paid(tampered), options)).toEqual({
      valid: false,
      reason: 'invalid-challenge',
    });
  });

  it('refuses a challenge issued under another secret or for another realm', () => {
    expect(
      verifyChallengeId(paid(authorization), { ...options, secret: 'another-secret-0123' }),
    ).toEqual({ valid: false, reason: 'invalid-challenge' });
    const elsewhere = buildPaymentChallenges(requirement(), { ...options, realm: 'other.example' });
    const answer = walletAt('alice').payChallenge(elsewhere.wwwAuthenticate);
    expect(verifyChallengeId(paid(answer), options)).toEqual({
      valid: false,
      reason: 'invalid-challenge',
    });
  });

  it('has no challenge to check on an x402 payment', () => {
    const header = walletAt('alice').payX402(challenges.paymentRequired);
    const payment = parsePaymentCredential({ 'payment-signature': header });
    if (!payment || 'error' in payment) throw new Error('not parsed');
    expect(verifyChallengeId(payment, options)).toEqual({ valid: false, reason: 'no-challenge' });
  });
});
