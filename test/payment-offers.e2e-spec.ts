import { decodePaymentRequiredHeader } from '@x402/core/http';
import { PaymentRequiredV2Schema } from '@x402/core/schemas';
import { Challenge } from 'mppx';
import type { Server } from 'node:http';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer, type DemoCustomer } from '../scripts/seed-demo';
import { headerValues, rawGet } from './support/raw-call';
import { ADMIN_TOKEN, Stack } from './support/stack';

const SECRET = 'e2e-payment-challenge-secret-0123456789';
const USDC = {
  network: 'eip155:84532',
  asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
  payTo: '0x209693Bc6afc0C5328bA36FaF03C514EF312287C',
  amountPerUnit: '1000',
  amountPerCall: '10',
};
const TEST_ASSET = {
  network: 'paygate:test',
  asset: 'TEST',
  payTo: 'paygate-demo',
  // Past 2^53: amounts are exact decimal strings end to end.
  amountPerUnit: '9007199254740993',
};

/**
 * Offers on the real stack (issue 17, "Offers on every payable 402"): a priced route's 402 for
 * insufficient credits keeps its RFC 9457 problem and billing link and adds a `payment` member,
 * one `WWW-Authenticate: Payment` challenge per asset and an x402 v2 `PAYMENT-REQUIRED` header,
 * read here with the npm packages mppx and @x402/core (code nobody here wrote). Refusals no
 * payment can cure, and unpriced routes, carry no offers.
 */
describe('payment offers on payable 402s (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 17321,
      entitlementGrpc: 17351,
      metering: 17322,
      gateway: 17380,
      upstream: 17300,
    },
    'offers-',
  );
  let upstream: Server;
  let demo: DemoCustomer;

  /** One request through the gateway, with every header line as sent (repeats kept). */
  const call = (path: string, headers: Record<string, string>) =>
    rawGet(stack.ports.gateway, path, headers, 'api.example.test');
  const values = headerValues;

  beforeAll(async () => {
    upstream = (await startDemoUpstream(stack.ports.upstream)).server;
    const routes = stack.writeRoutes('offers', {
      paid: { price: { assets: [TEST_ASSET, USDC] } },
      free: {},
    });
    await stack.start(undefined, {
      ROUTES_FILE: routes,
      PAYMENT_CHALLENGE_SECRET: SECRET,
      PAYMENT_REALM: 'api.example.test',
      PAYMENT_TEST_METHOD: 'true',
      // Never called here: offers need none, but a priced network must have one.
      PAYMENT_FACILITATORS: 'eip155:84532=http://127.0.0.1:9/x402',
    });
    demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 1, 'Offers');
  });

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('adds both challenges and the payment member to a 402 for insufficient credits', async () => {
    const auth = { authorization: `Bearer ${demo.apiKey}` };
    expect((await call('/paid/hello', auth)).status).toBe(200);
    const issuedFrom = Date.now();
    const refused = await call('/paid/hello?x=1', auth);
    expect(refused.status).toBe(402);
    expect(values(refused, 'content-type')[0]).toMatch(/^application\/problem\+json/);
    // The human path as before: the problem, the numbers, the billing link.
    expect(refused.body).toMatchObject({
      type: 'https://paygate.dev/problems/insufficient-credits',
      status: 402,
      balance: 0,
      required: 1,
      link: expect.stringContaining('/billing/'),
    });

    // Payment auth scheme: one challenge per asset, each its own header line, parsed by mppx.
    const challenges = values(refused, 'www-authenticate').map((v) => Challenge.deserialize(v));
    expect(challenges).toHaveLength(2);
    for (const challenge of challenges) {
      expect(challenge.realm).toBe('api.example.test');
      expect(challenge.intent).toBe('charge');
      // The id is the HMAC the gateway signed with its secret, over what the challenge says.
      expect(Challenge.verify(challenge, { secretKey: SECRET })).toBe(true);
      expect(Challenge.verify(challenge, { secretKey: `${SECRET}-other` })).toBe(false);
      const expires = Date.parse(challenge.expires!);
      expect(expires).toBeGreaterThan(issuedFrom);
      expect(expires).toBeLessThanOrEqual(Date.now() + 300_000 + 1000);
    }
    const [testChallenge, evmChallenge] = challenges;
    expect(testChallenge.request).toMatchObject({
      amount: '9007199254740993',
      recipient: 'paygate-demo',
    });
    expect(evmChallenge.request).toMatchObject({ amount: '1010', recipient: USDC.payTo });
    // Tampering with what a challenge says breaks its id.
    expect(
      Challenge.verify(
        { ...evmChallenge, request: { ...evmChallenge.request, amount: '1' } },
        { secretKey: SECRET },
      ),
    ).toBe(false);

    // x402 v2: PAYMENT-REQUIRED decoded and schema-checked by @x402/core.
    const [header] = values(refused, 'payment-required');
    const required = decodePaymentRequiredHeader(header);
    expect(PaymentRequiredV2Schema.safeParse(required).success).toBe(true);
    expect(required).toMatchObject({
      x402Version: 2,
      resource: { url: 'http://api.example.test/paid/hello?x=1' },
    });
    expect(required.accepts.map((a) => [a.scheme, a.network, a.amount, a.asset, a.payTo])).toEqual([
      ['exact', 'paygate:test', '9007199254740993', 'TEST', 'paygate-demo'],
      ['exact', USDC.network, '1010', USDC.asset, USDC.payTo],
    ]);

    // A key put in the URL by mistake is not in the resource a credential echoes (stored with
    // the payment, sent to facilitators): only its prefix is.
    const withKey = await call(`/paid/hello?api_key=${demo.apiKey}`, auth);
    expect(withKey.status).toBe(402);
    // (The problem's `instance` is the caller's own target, answered to the caller only.)
    expect(JSON.stringify(withKey.body.payment)).not.toContain(demo.apiKey);
    expect(values(withKey, 'payment-required').join()).not.toContain(demo.apiKey);
    expect(withKey.body.payment.resource).toBe(
      'http://api.example.test/paid/hello?api_key=pg_live_[redacted]',
    );
    expect(decodePaymentRequiredHeader(values(withKey, 'payment-required')[0]).resource.url).toBe(
      'http://api.example.test/paid/hello?api_key=pg_live_[redacted]',
    );

    // The body lists the same offers, with each challenge's id.
    expect(refused.body.payment).toMatchObject({
      resource: 'http://api.example.test/paid/hello?x=1',
      units: 1,
      intent: 'charge',
      offers: [
        {
          network: 'paygate:test',
          amount: '9007199254740993',
          paymentAuth: { id: testChallenge.id },
        },
        { network: USDC.network, amount: '1010', paymentAuth: { id: evmChallenge.id } },
      ],
    });
  });

  it('offers nothing where no payment helps or nothing is priced', async () => {
    const auth = { authorization: `Bearer ${demo.apiKey}` };
    // Unpriced route: the same 402, without offers.
    const unpriced = await call('/free/hello', auth);
    expect(unpriced.status).toBe(402);
    expect(unpriced.body.payment).toBeUndefined();
    expect(values(unpriced, 'payment-required')).toEqual([]);
    expect(values(unpriced, 'www-authenticate')).toEqual([]);
    // An unknown key: 401 with its Bearer challenge only.
    const unknown = await call('/paid/hello', { authorization: 'Bearer pg_live_unknown' });
    expect(unknown.status).toBe(401);
    expect(values(unknown, 'payment-required')).toEqual([]);
    expect(values(unknown, 'www-authenticate').join()).not.toMatch(/^Payment|, Payment/);
    expect(unknown.body.payment).toBeUndefined();
  });
});
