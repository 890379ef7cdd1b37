import { encodePaymentSignatureHeader } from '@x402/core/http';
import { Challenge, Credential, evm } from 'mppx';
import { buildPaymentChallenges } from './challenges';
import { parsePaymentCredential } from './credentials';
import { FacilitatorRouter } from './facilitator-router';
import { HttpFacilitator } from './http-facilitator';
import { type FacilitatorAnswer, LoopbackFacilitator } from '@test/loopback-facilitator.fixture';
import {
  EVM_ACCEPTED,
  EVM_PAY_TO,
  NOW,
  REALM,
  requirement,
  SECRET,
  USDC_BASE,
  walletAt,
} from '@test/payments.fixture';
import { TestFacilitator } from './test-facilitator';
import type { ParsedPayment } from './types';

const PAYER = '0x857b06519E91e3A54538791bDbb0E22373e36b66';
const SIGNATURE = `0x${'11'.repeat(65)}`;
const NONCE = `0x${'ab'.repeat(32)}`;

/** The loopback facilitator with the answers these specs start from. */
class FakeFacilitator extends LoopbackFacilitator {
  override answer: Record<string, FacilitatorAnswer> = {
    '/verify': { status: 200, body: { isValid: true, payer: PAYER } },
    '/settle': {
      status: 200,
      body: { success: true, transaction: `0x${'cd'.repeat(32)}`, network: 'eip155:8453' },
    },
    '/supported': {
      status: 200,
      body: {
        kinds: [{ x402Version: 2, scheme: 'exact', network: 'eip155:8453' }],
        extensions: [],
        signers: {},
      },
    },
  };

  override start(): Promise<string> {
    return super.start('/facilitator');
  }
}

function parsed(headers: Record<string, string>): ParsedPayment {
  const payment = parsePaymentCredential(headers);
  if (!payment || 'error' in payment) throw new Error(`not parsed: ${JSON.stringify(payment)}`);
  return payment;
}

const req = requirement();
const challenges = buildPaymentChallenges(req, { secret: SECRET, realm: REALM, now: NOW });
const accepted = EVM_ACCEPTED;
const authorization = {
  from: PAYER,
  to: EVM_PAY_TO,
  value: '3000',
  validAfter: '0',
  validBefore: '1772366700',
  nonce: NONCE,
};

function x402Payment(overrides: Partial<typeof accepted> = {}): ParsedPayment {
  return parsed({
    'payment-signature': encodePaymentSignatureHeader({
      x402Version: 2,
      resource: { url: req.resource },
      accepted: { ...accepted, ...overrides },
      payload: { signature: SIGNATURE, authorization },
    }),
  });
}

describe('HttpFacilitator', () => {
  const fake = new FakeFacilitator();
  let http: HttpFacilitator;

  beforeAll(async () => {
    const url = await fake.start();
    http = new HttpFacilitator({ facilitators: { 'eip155:8453': url } });
  });
  afterAll(() => fake.stop());
  beforeEach(() => (fake.calls.length = 0));

  it('verifies and settles an x402 payment through POST /verify and /settle', async () => {
    const payment = x402Payment();
    await expect(http.verify(payment, req)).resolves.toEqual({ valid: true });
    await expect(http.settle(payment, req)).resolves.toEqual({
      settled: true,
      transaction: `0x${'cd'.repeat(32)}`,
    });
    expect(fake.calls.map((call) => call.path)).toEqual(['/verify', '/settle']);
    for (const call of fake.calls) {
      expect(call.body).toEqual({
        x402Version: 2,
        paymentPayload: {
          x402Version: 2,
          resource: { url: req.resource },
          accepted,
          payload: { signature: SIGNATURE, authorization },
        },
        paymentRequirements: accepted,
      });
    }
  });

  it('settles an x402 upto payment for what is owed: the requirement names that amount', async () => {
    const upto = { ...req, intent: 'upto' as const };
    const payment = x402Payment({ scheme: 'upto' });
    expect(payment.intent).toBe('upto');
    expect(payment.validBefore).toEqual(new Date(1772366700 * 1000));
    await expect(http.verify(payment, upto)).resolves.toEqual({ valid: true });
    await expect(http.settle(payment, upto, '1200')).resolves.toMatchObject({ settled: true });
    const settle = fake.calls.find((call) => call.path === '/settle');
    expect(settle?.body.paymentRequirements).toEqual({
      ...accepted,
      scheme: 'upto',
      amount: '1200',
    });
    // The signed payload still carries the authorized maximum.
    expect(settle?.body.paymentPayload).toMatchObject({ accepted: { amount: '3000' } });
    fake.calls.length = 0;
    await expect(http.settle(payment, upto, '3001')).resolves.toEqual({
      settled: false,
      reason: 'settlement-exceeds-amount',
    });
    await expect(http.settle(payment, upto, '0')).resolves.toEqual({
      settled: true,
      transaction: '',
    });
    expect(fake.calls).toEqual([]);
  });

  function evmCredential(nonce: string): ParsedPayment {
    const challenge = Challenge.deserialize(challenges.wwwAuthenticate[1]);
    return parsed({
      authorization: Credential.serialize(
        Credential.from({
          challenge,
          payload: { type: 'authorization', ...authorization, nonce, signature: SIGNATURE },
        }),
      ),
    });
  }

  it('sends a Payment-auth evm credential as the x402 exact EIP-3009 payload', async () => {
    const challenge = Challenge.deserialize(challenges.wwwAuthenticate[1]);
    const nonce = evm.challengeHash(challenge);
    await expect(http.verify(evmCredential(nonce), req)).resolves.toEqual({ valid: true });
    const requirements = {
      scheme: 'exact',
      network: 'eip155:8453',
      asset: USDC_BASE,
      payTo: EVM_PAY_TO,
      amount: '3000',
      maxTimeoutSeconds: expect.any(Number),
      extra: { assetTransferMethod: evm.eip3009, name: 'USD Coin', version: '2' },
    };
    expect(fake.calls[0].body).toEqual({
      x402Version: 2,
      paymentRequirements: requirements,
      paymentPayload: {
        x402Version: 2,
        resource: { url: req.resource },
        accepted: requirements,
        payload: { signature: SIGNATURE, authorization: { ...authorization, nonce } },
      },
    });
  });

  it('refuses a Payment-auth evm authorization whose nonce is not the challenge hash', async () => {
    await expect(http.verify(evmCredential(NONCE), req)).resolves.toEqual({
      valid: false,
      reason: 'invalid-nonce',
    });
    expect(fake.calls).toEqual([]);
  });

  it('refuses the cheap cases without asking the facilitator', async () => {
    await expect(http.verify(x402Payment({ amount: '2999' }), req)).resolves.toEqual({
      valid: false,
      reason: 'underpaid',
    });
    await expect(http.verify(x402Payment({ payTo: PAYER }), req)).resolves.toEqual({
      valid: false,
      reason: 'wrong-recipient',
    });
    await expect(http.verify(x402Payment({ scheme: 'upto' }), req)).resolves.toEqual({
      valid: false,
      reason: 'wrong-scheme',
    });
    await expect(http.verify({ ...x402Payment(), network: 'eip155:1' }, req)).resolves.toEqual({
      valid: false,
      reason: 'wrong-network',
    });
    expect(fake.calls).toEqual([]);
  });

  it("maps the facilitator's reasons", async () => {
    fake.answer['/verify'] = {
      status: 200,
      body: {
        isValid: false,
        invalidReason: 'invalid_exact_evm_payload_authorization_valid_before',
      },
    };
    await expect(http.verify(x402Payment(), req)).resolves.toEqual({
      valid: false,
      reason: 'expired',
    });
    fake.answer['/verify'] = {
      status: 400,
      body: { isValid: false, invalidReason: 'invalid_exact_evm_signature' },
    };
    await expect(http.verify(x402Payment(), req)).resolves.toEqual({
      valid: false,
      reason: 'invalid-signature',
    });
    fake.answer['/settle'] = {
      status: 200,
      body: {
        success: false,
        errorReason: 'insufficient_funds',
        transaction: '',
        network: 'eip155:8453',
      },
    };
    await expect(http.settle(x402Payment(), req)).resolves.toEqual({
      settled: false,
      reason: 'insufficient-funds',
    });
  });

  it('reports an unreachable facilitator as unavailable', async () => {
    const down = new HttpFacilitator({
      facilitators: { 'eip155:8453': 'http://127.0.0.1:9/facilitator' },
      timeoutMs: 2000,
    });
    await expect(down.verify(x402Payment(), req)).resolves.toEqual({
      valid: false,
      reason: 'facilitator-unavailable',
    });
  });

  it('lists what the facilitators support (GET /supported)', async () => {
    await expect(http.supported()).resolves.toEqual([{ network: 'eip155:8453', scheme: 'exact' }]);
  });

  it('sits behind a FacilitatorRouter with the test facilitator', async () => {
    const router = new FacilitatorRouter(
      { 'paygate:test': new TestFacilitator({ enabled: true, now: () => NOW }) },
      http,
    );
    const testPayment = parsed({
      'payment-signature': walletAt('alice').payX402(challenges.paymentRequired),
    });
    await expect(router.verify(testPayment, req)).resolves.toEqual({ valid: true });
    fake.answer['/verify'] = { status: 200, body: { isValid: true, payer: PAYER } };
    await expect(router.verify(x402Payment(), req)).resolves.toEqual({ valid: true });
    await expect(new FacilitatorRouter({}).settle(testPayment)).resolves.toEqual({
      settled: false,
      reason: 'wrong-network',
    });
  });

  it('passes what an upto payment owes through the router, to either facilitator', async () => {
    // The gateway settles through a router; a router that dropped the amount would settle
    // every authorization for its whole maximum.
    const test = new TestFacilitator({ enabled: true, now: () => NOW });
    const router = new FacilitatorRouter({ 'paygate:test': test }, http);
    const upto = { ...req, intent: 'upto' as const };
    const offered = buildPaymentChallenges(upto, { secret: SECRET, realm: REALM, now: NOW });
    const testPayment = parsed({
      'payment-signature': walletAt('alice').payX402(offered.paymentRequired, { intent: 'upto' }),
    });
    expect(testPayment.intent).toBe('upto');
    await expect(router.settle(testPayment, upto, '250')).resolves.toMatchObject({
      settled: true,
    });
    expect(test.ledger.get(testPayment.paymentId)?.amount).toBe('250');
    fake.answer['/settle'] = new FakeFacilitator().answer['/settle'];
    await expect(
      router.settle(x402Payment({ scheme: 'upto' }), upto, '1200'),
    ).resolves.toMatchObject({ settled: true });
    const settle = fake.calls.find((call) => call.path === '/settle');
    expect(settle?.body.paymentRequirements).toMatchObject({ scheme: 'upto', amount: '1200' });
  });
});
