import { createPaygateClient } from '../libs/client/src';
import { TestWallet } from '@paygate/payments';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { Challenge, Receipt } from 'mppx';
import type { Server } from 'node:http';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { payPerCallExample } from '../scripts/pay-per-call-example';
import { requestsFeature } from '../apps/entitlement/src/plans/demo-plan';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { query } from './support/database';
import { headerValues, rawGet } from './support/raw-call';
import { ADMIN_TOKEN, Stack, eventually } from './support/stack';

// JSON bodies are checked field by field with matchers, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const SECRET = 'e2e-anonymous-pay-per-call-secret-0123456789';
const TEST_ASSET = {
  network: 'paygate:test',
  asset: 'TEST',
  payTo: 'paygate-demo',
  amountPerUnit: '250',
};

/**
 * Anonymous pay-per-call on the real stack (issue 17): a caller without an API key gets a 402
 * `payment-required` with both challenges, pays with the offline test wallet and is served
 * with a receipt; its account becomes a customer (one per payer) whose usage is metered and
 * whose payments are credited once. Replays, tampered and expired challenges are refused with
 * fresh offers; 100 concurrent paid calls settle 100 payments that the ledger and metering
 * agree on.
 */
describe('anonymous pay-per-call (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 17521,
      entitlementGrpc: 17551,
      metering: 17522,
      gateway: 17580,
      upstream: 17500,
    },
    'anon-',
  );
  let upstream: Server;
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const getJson = async (url: string): Promise<Json> =>
    (await fetch(url, { headers: admin })).json();
  const call = (path: string, headers: Record<string, string> = {}) =>
    rawGet(stack.ports.gateway, path, headers, 'anon.example.test');
  const header = headerValues;

  /** The customer a payer's account became, once it paid. */
  const customerOf = async (wallet: TestWallet): Promise<string | undefined> => {
    const [row] = await query<{ customer_id: string }>(
      `SELECT "customer_id" FROM "entitlement"."payer_accounts" WHERE "account" = $1`,
      [wallet.accountId],
    );
    return row?.customer_id;
  };
  const balance = (customerId: string) =>
    eventually(
      () => getJson(`${stack.url('entitlement')}/v1/customers/${customerId}/balance`),
      (b) => b.reserved === 0,
    );
  const paymentsOf = async (customerId: string) =>
    (
      await query<{ n: number; credits: string | null }>(
        `SELECT count(*)::int AS n, sum("credits")::text AS credits
         FROM "entitlement"."direct_payments" WHERE "customer_id" = $1`,
        [customerId],
      )
    )[0];

  beforeAll(async () => {
    upstream = (await startDemoUpstream(stack.ports.upstream)).server;
    const routes = stack.writeRoutes('anon', {
      // Anonymous calls priced by the demo plan (1 credit a request, 250 TEST a credit).
      paid: { price: { assets: [TEST_ASSET], anonymousPlan: 'pay-as-you-go' } },
      // A priced route without anonymousPlan still wants a key.
      keyed: { price: { assets: [TEST_ASSET] } },
      // Anonymous calls under a plan with a rate limit of 2 a day.
      limited: { price: { assets: [TEST_ASSET], anonymousPlan: 'anon-limited' } },
    });
    await stack.start(undefined, {
      ROUTES_FILE: routes,
      PAYMENT_CHALLENGE_SECRET: SECRET,
      PAYMENT_REALM: 'anon.example.test',
      PAYMENT_TEST_METHOD: 'true',
      PAYMENT_CHALLENGE_TTL_SECONDS: '30',
      // As in pay-and-retry.e2e-spec.ts: the 100-call burst proves exactly-once crediting, and a
      // call still deciding before it pays (the payer's own check) keeps a decision's deadline.
      DECISION_TIMEOUT_MS: '10000',
    });
    // The plan anonymous payers are subscribed to (its newest version).
    await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'plan owner');
    await stack.operator('POST', '/v1/plans', {
      key: 'anon-limited',
      name: 'Anonymous, rate limited',
      features: [requestsFeature({ rateLimitRequests: 2, rateLimitWindowSeconds: 86_400 })],
    });
  });

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('no key: 402 payment-required with both challenges, decoded by @x402/core and mppx; a keyed route still answers 401', async () => {
    const refused = await call('/paid/hello');
    expect(refused.status).toBe(402);
    expect(header(refused, 'content-type')[0]).toMatch(/application\/problem\+json/);
    expect(refused.body).toMatchObject({
      type: 'https://paygate.dev/problems/payment-required',
      status: 402,
      plan: 'pay-as-you-go',
      feature: 'requests',
      required: 1,
      payment: expect.any(Object),
    });
    const [required] = header(refused, 'payment-required');
    const decoded = decodePaymentRequiredHeader(required);
    expect(decoded).toMatchObject({
      x402Version: 2,
      resource: { url: expect.stringContaining('/paid/hello') },
      accepts: [
        expect.objectContaining({
          network: 'paygate:test',
          asset: 'TEST',
          payTo: 'paygate-demo',
          amount: '250',
        }),
      ],
    });
    const challenges = header(refused, 'www-authenticate');
    // One Payment challenge per asset, and Bearer for callers who have a key.
    expect(challenges).toHaveLength(2);
    expect(challenges.some((c) => c.startsWith('Bearer'))).toBe(true);
    const payment = challenges.find((c) => c.startsWith('Payment'));
    expect(Challenge.deserialize(payment as string)).toMatchObject({
      realm: 'anon.example.test',
      method: 'paygate',
      intent: 'charge',
    });

    const keyed = await call('/keyed/hello');
    expect(keyed.status).toBe(401);
    expect(header(keyed, 'payment-required')).toHaveLength(0);
  });

  it('x402: pays, is served with PAYMENT-RESPONSE as a new customer; a replay is refused', async () => {
    const wallet = TestWallet.generate();
    const [offer] = header(await call('/paid/hello'), 'payment-required');
    const signature = wallet.payX402(offer);
    const served = await call('/paid/hello', { 'payment-signature': signature });
    expect(served.status).toBe(200);
    const customerId = await customerOf(wallet);
    expect(customerId).toEqual(expect.any(String));
    // The upstream serves it for the payer's customer and never sees the credential.
    expect(served.body).toMatchObject({ path: '/hello', customerId });
    expect(JSON.stringify(served.body)).not.toContain(signature.slice(0, 40));
    expect(decodePaymentResponseHeader(header(served, 'payment-response')[0])).toMatchObject({
      success: true,
      network: 'paygate:test',
      payer: wallet.address,
    });
    expect(await balance(customerId as string)).toMatchObject({ available: 0, reserved: 0 });

    const replay = await call('/paid/hello', { 'payment-signature': signature });
    expect(replay.status).toBe(402);
    expect(replay.body).toMatchObject({
      type: 'https://paygate.dev/problems/payment-replayed',
      reason: 'replayed',
    });
    expect(header(replay, 'payment-required')).toHaveLength(1);
    expect(await paymentsOf(customerId as string)).toEqual({ n: 1, credits: '1' });

    // The same payer paying again is the same customer.
    const again = await call('/paid/hello', { 'payment-signature': wallet.payX402(offer) });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ customerId });
    const [{ n }] = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "entitlement"."payer_accounts" WHERE "customer_id" = $1`,
      [customerId],
    );
    expect(n).toBe(1);
  });

  it('Payment scheme: pays a challenge and gets a Payment-Receipt; tampered and expired challenges get fresh offers and create nobody', async () => {
    const wallet = TestWallet.generate();
    const refused = await call('/paid/hello');
    const challenges = header(refused, 'www-authenticate');
    const authorization = wallet.payChallenge(challenges);

    const [scheme, token] = authorization.split(' ');
    const credential = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    credential.challenge.id = `${credential.challenge.id.slice(0, -2)}AA`;
    const tampered = `${scheme} ${Buffer.from(JSON.stringify(credential)).toString('base64url')}`;
    const refusedTampered = await call('/paid/hello', { authorization: tampered });
    expect(refusedTampered.status).toBe(402);
    expect(refusedTampered.body).toMatchObject({
      type: 'https://paygate.dev/problems/payment-invalid',
      reason: 'invalid-challenge',
    });
    expect(header(refusedTampered, 'www-authenticate').length).toBeGreaterThanOrEqual(1);
    expect(await customerOf(wallet)).toBeUndefined();

    const served = await call('/paid/hello', { authorization });
    expect(served.status).toBe(200);
    expect(Receipt.deserialize(header(served, 'payment-receipt')[0])).toMatchObject({
      status: 'success',
    });
    const customerId = await customerOf(wallet);
    expect(served.body).toMatchObject({ customerId });

    const late = TestWallet.generate();
    const lateAuthorization = late.payChallenge(
      header(await call('/paid/hello'), 'www-authenticate'),
    );
    // PAYMENT_CHALLENGE_TTL_SECONDS is 30 in this stack.
    await new Promise((r) => setTimeout(r, 31_000));
    const expired = await call('/paid/hello', { authorization: lateAuthorization });
    expect(expired.status).toBe(402);
    expect(expired.body).toMatchObject({ type: 'https://paygate.dev/problems/payment-expired' });
    expect(header(expired, 'www-authenticate')[0]).not.toBe(lateAuthorization);
    expect(await customerOf(late)).toBeUndefined();
  });

  it('a payment buying more than the call (750 TEST for 1 credit) is refused before it settles: nobody is created', async () => {
    const payer = TestWallet.generate();
    const [offer] = header(await call('/paid/hello'), 'payment-required');
    // Credits beyond the call would sit on a balance a payer without a key cannot spend.
    const asked = JSON.parse(Buffer.from(offer, 'base64').toString('utf8'));
    asked.accepts[0].amount = '750';
    const three = payer.payX402(Buffer.from(JSON.stringify(asked)).toString('base64'));
    const answer = await call('/paid/hello', { 'payment-signature': three });
    expect(answer.status).toBe(402);
    expect(answer.body).toMatchObject({
      type: 'https://paygate.dev/problems/payment-invalid',
      reason: 'more-than-the-call',
    });
    // Fresh offers for the call come with it; nothing settled, no account made.
    expect(header(answer, 'payment-required')).toHaveLength(1);
    expect(await customerOf(payer)).toBeUndefined();
    const paymentsBy = async () =>
      (
        await query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "entitlement"."direct_payments" WHERE "payer" IN ($1, $2)`,
          [payer.address, payer.accountId],
        )
      )[0].n;
    expect(await paymentsBy()).toBe(0);
    // The offer as made is taken, and journaled.
    expect((await call('/paid/hello', { 'payment-signature': payer.payX402(offer) })).status).toBe(
      200,
    );
    expect(await paymentsBy()).toBe(1);
  });

  it('a payer named in a credential it did not sign is not served from that payer’s balance', async () => {
    const victim = TestWallet.generate();
    const [offer] = header(await call('/paid/hello'), 'payment-required');
    // The victim pays for a call (its credit spent), and an operator grants its customer 2.
    expect((await call('/paid/hello', { 'payment-signature': victim.payX402(offer) })).status).toBe(
      200,
    );
    const victimId = (await customerOf(victim)) as string;
    await stack.operator('POST', `/v1/customers/${victimId}/grants`, { amount: 2 });
    expect(await balance(victimId)).toMatchObject({ available: 2 });

    // The attacker rewrites a voucher of its own to name the victim: the signature fails.
    const forged = JSON.parse(
      Buffer.from(TestWallet.generate().payX402(offer), 'base64').toString('utf8'),
    );
    forged.payload.voucher.payer = victim.address;
    const answer = await call('/paid/hello', {
      'payment-signature': Buffer.from(JSON.stringify(forged)).toString('base64'),
    });
    expect(answer.status).toBe(402);
    expect(answer.body).toMatchObject({ type: 'https://paygate.dev/problems/payment-invalid' });
    expect(await balance(victimId)).toMatchObject({ available: 2 });
  });

  it('a payer over its rate limit is refused with a 429 before its payment is settled: nothing taken', async () => {
    const wallet = TestWallet.generate();
    const [offer] = header(await call('/limited/hello'), 'payment-required');
    for (let i = 0; i < 2; i++) {
      const served = await call('/limited/hello', { 'payment-signature': wallet.payX402(offer) });
      expect(served.status).toBe(200);
    }
    const customerId = (await customerOf(wallet)) as string;
    const limited = await call('/limited/hello', { 'payment-signature': wallet.payX402(offer) });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ type: 'https://paygate.dev/problems/rate-limited' });
    expect(header(limited, 'retry-after')).toHaveLength(1);
    // No receipt: nothing was settled, and nothing was credited.
    expect(header(limited, 'payment-response')).toHaveLength(0);
    expect(await paymentsOf(customerId)).toEqual({ n: 2, credits: '2' });
    expect(await balance(customerId)).toMatchObject({ available: 0, reserved: 0 });
  });

  it('100 concurrent paid calls of one payer: 100 served, 100 payments credited once, one customer, ledger and metering agree', async () => {
    const wallet = TestWallet.generate();
    const [offer] = header(await call('/paid/hello'), 'payment-required');
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        call('/paid/hello', { 'payment-signature': wallet.payX402(offer) }),
      ),
    );
    expect(
      answers
        .filter((a) => a.status !== 200)
        .map((a) => `${a.status} ${a.body?.code} ${a.body?.reason ?? ''}`),
    ).toEqual([]);
    const customerId = (await customerOf(wallet)) as string;
    expect(new Set(answers.map((a) => a.body?.customerId))).toEqual(new Set([customerId]));
    expect(await paymentsOf(customerId)).toEqual({ n: 100, credits: '100' });
    expect(await balance(customerId)).toMatchObject({ available: 0, reserved: 0 });
    const usage = await eventually(
      () =>
        getJson(`${stack.url('metering')}/v1/usage?customerId=${customerId}&meterKey=api_requests`),
      (u) => u.total.value >= 100,
    );
    expect(usage.total).toEqual({ value: 100, events: 100 });
  });

  it('the client library without an API key pays its way within its budget', async () => {
    const wallet = TestWallet.generate();
    const client = createPaygateClient({
      baseUrl: stack.url('gateway'),
      payments: {
        maxPerCall: { 'paygate:test/TEST': '250' },
        maxPerSession: { 'paygate:test/TEST': '500' },
        wallet: async ({ offers, paymentRequired }) => {
          const offer = offers.find((o) => o.network === 'paygate:test');
          if (!offer || !paymentRequired) return undefined;
          return { offer, headers: { 'payment-signature': wallet.payX402(paymentRequired) } };
        },
      },
    });
    for (let i = 0; i < 2; i++) {
      const body: Json = await client.json('/paid/hello');
      expect(body).toMatchObject({ path: '/hello' });
    }
    await expect(client.fetch('/paid/hello')).rejects.toMatchObject({
      status: 402,
      code: 'PAYMENT_REQUIRED',
    });
    expect(client.paid()).toEqual({ 'paygate:test/TEST': '500' });
    expect(await paymentsOf((await customerOf(wallet)) as string)).toEqual({ n: 2, credits: '2' });
  });

  it('the runnable example (npm run example:pay) pays its way through the priced route, then stops at its budget', async () => {
    const lines: string[] = [];
    const result = await payPerCallExample(stack.url('gateway'), (line) => lines.push(line));
    expect(result).toEqual({
      served: 3,
      spent: { 'paygate:test/TEST': '750' },
      refusedAfterBudget: true,
    });
    expect(lines.filter((l) => l.includes('with a payment receipt'))).toHaveLength(3);
  });

  it('serves an OpenAPI document of its routes with the payment headers and problem types', async () => {
    const response = await fetch(`${stack.url('gateway')}/_paygate/openapi.json`);
    expect(response.status).toBe(200);
    const doc: Json = await response.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/paid/{path}', '/keyed/{path}']),
    );
    expect(doc.paths['/paid/{path}'].get.responses['402'].$ref).toBe(
      '#/components/responses/PaymentRequiredWithOffers',
    );
    expect(doc.components.schemas.Problem.properties.type.enum).toContain(
      'https://paygate.dev/problems/payment-required',
    );
  });

  it('a payer whose account is blocked is refused before its payment is settled: nothing taken', async () => {
    const wallet = TestWallet.generate();
    const [offer] = header(await call('/paid/hello'), 'payment-required');
    expect((await call('/paid/hello', { 'payment-signature': wallet.payX402(offer) })).status).toBe(
      200,
    );
    const customerId = (await customerOf(wallet)) as string;
    const blocked = await fetch(`${stack.url('entitlement')}/v1/customers/${customerId}`, {
      method: 'PATCH',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ blocked: true }),
    });
    expect(blocked.status).toBe(200);
    const refused = await call('/paid/hello', { 'payment-signature': wallet.payX402(offer) });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ type: 'https://paygate.dev/problems/customer-blocked' });
    // No receipt: nothing was settled, and nothing recorded.
    expect(header(refused, 'payment-response')).toHaveLength(0);
    expect(await paymentsOf(customerId)).toEqual({ n: 1, credits: '1' });
  });
});
