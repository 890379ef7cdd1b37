import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from '@x402/core/http';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import {
  type FacilitatorAnswer,
  LoopbackFacilitator,
} from './support/loopback-facilitator.fixture';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer, type DemoCustomer } from '../scripts/seed-demo';
import { query } from './support/database';
import { headerValues, rawGet } from './support/raw-call';
import { ADMIN_TOKEN, Stack, eventually } from './support/stack';

// JSON bodies are checked field by field with matchers, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const SECRET = 'e2e-facilitator-outage-secret-0123456789';
const NETWORK = 'eip155:84532';
const ASSET = {
  network: NETWORK,
  asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
  payTo: '0x209693Bc6afc0C5328bA36FaF03C514EF312287C',
  amountPerUnit: '1000',
};
const PAYER = '0x857b06519E91e3A54538791bDbb0E22373e36b66';

/**
 * The loopback facilitator settling EIP-3009 authorizations by nonce. Idempotent by default (a
 * repeated settle answers the first transaction); with `refuseRepeats`, like a chain, a spent
 * nonce neither verifies nor settles again. `beforeSettle` lets a test act between the
 * settlement and the gateway's next step.
 */
class NonceFacilitator extends LoopbackFacilitator {
  readonly settlements = new Map<string, string>();
  refuseRepeats = false;
  /** The verify answers 503, as a facilitator that is down behind its proxy. */
  verifyDown = false;
  beforeSettle?: () => Promise<void>;

  override respond = async (path: string, body: Json): Promise<FacilitatorAnswer | undefined> => {
    if (path === '/verify' && this.verifyDown) return { status: 503, body: { error: 'down' } };
    const nonce: string = body.paymentPayload?.payload?.authorization?.nonce ?? '';
    const spent = this.refuseRepeats && this.settlements.has(nonce);
    if (path === '/verify') {
      return spent
        ? { status: 200, body: { isValid: false, invalidReason: 'nonce_already_used' } }
        : { status: 200, body: { isValid: true, payer: PAYER } };
    }
    if (path !== '/settle') return undefined;
    if (spent) {
      return {
        status: 200,
        body: {
          success: false,
          errorReason: 'nonce_already_used',
          transaction: '',
          network: NETWORK,
        },
      };
    }
    await this.beforeSettle?.();
    const transaction = this.settlements.get(nonce) ?? `0x${randomBytes(32).toString('hex')}`;
    this.settlements.set(nonce, transaction);
    return { status: 200, body: { success: true, transaction, network: NETWORK, payer: PAYER } };
  };
}

/**
 * A payment settled through an x402 facilitator (HTTP, not the built-in test method) whose
 * crediting fails because the entitlement service died in between (issue 17): the caller gets
 * a 503 `payment-unavailable`, sends the same credential again once the service is back, and
 * is served; the payment is settled once and credited once.
 */
describe('facilitator payments across an entitlement outage (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 17821,
      entitlementGrpc: 17851,
      metering: 17822,
      gateway: 17880,
      upstream: 17800,
    },
    'fac-',
  );
  const facilitator = new NonceFacilitator();
  let upstream: Server;
  const call = (path: string, headers: Record<string, string>) =>
    rawGet(stack.ports.gateway, path, headers, 'fac.example.test');

  /** A PAYMENT-SIGNATURE for the 402's first offer, as an EIP-3009 authorization. */
  const pay = (paymentRequired: string): string => {
    const required = decodePaymentRequiredHeader(paymentRequired);
    const accepted = required.accepts[0];
    return encodePaymentSignatureHeader({
      x402Version: 2,
      resource: required.resource,
      accepted,
      payload: {
        signature: `0x${'11'.repeat(65)}`,
        authorization: {
          from: PAYER,
          to: accepted.payTo,
          value: accepted.amount,
          validAfter: '0',
          validBefore: String(Math.floor(Date.now() / 1000) + 300),
          nonce: `0x${randomBytes(32).toString('hex')}`,
        },
      },
    });
  };
  /** The customer's payments, journaled or settled. */
  const journalOf = async (customer: DemoCustomer) =>
    query<{ payment_id: string; status: string; transaction: string; credits: string }>(
      `SELECT "payment_id", "status", "transaction", "credits"::text
       FROM "entitlement"."direct_payments" WHERE "customer_id" = $1`,
      [customer.customerId],
    );
  /** The customer's settled payments (a payment is journaled before it is settled). */
  const paymentsOf = async (customer: DemoCustomer) =>
    (await journalOf(customer)).filter((p) => p.status === 'settled');
  const balanceOf = async (customer: DemoCustomer): Promise<Json> =>
    (
      await fetch(`${stack.url('entitlement')}/v1/customers/${customer.customerId}/balance`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json();

  beforeAll(async () => {
    const facilitatorUrl = await facilitator.start();
    upstream = (await startDemoUpstream(stack.ports.upstream)).server;
    const routes = stack.writeRoutes('fac', { paid: { price: { assets: [ASSET] } } });
    await stack.start(undefined, {
      ROUTES_FILE: routes,
      PAYMENT_CHALLENGE_SECRET: SECRET,
      PAYMENT_REALM: 'fac.example.test',
      PAYMENT_FACILITATORS: `${NETWORK}=${facilitatorUrl}`,
      // A journaled payment whose gateway died is settled by the rounds 10 s after its journal.
      PAYMENT_JOURNAL_CLAIM_SECONDS: '10',
      PAYMENT_SETTLE_INTERVAL_MS: '250',
    });
  });

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.close(resolve));
    await facilitator.stop();
  });

  it('pays through the facilitator: verified, settled, credited, served with PAYMENT-RESPONSE', async () => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'fac');
    const key = { 'x-api-key': customer.apiKey };
    const refused = await call('/paid/a', key);
    expect(refused.status).toBe(402);
    const served = await call('/paid/a', {
      ...key,
      'payment-signature': pay(headerValues(refused, 'payment-required')[0]),
    });
    expect(served.status).toBe(200);
    expect(headerValues(served, 'payment-response')).toHaveLength(1);
    expect(facilitator.calls.slice(-2).map((c) => c.path)).toEqual(['/verify', '/settle']);
    expect(await paymentsOf(customer)).toHaveLength(1);
  });

  afterEach(() => (facilitator.refuseRepeats = false));

  /**
   * A customer without credits pays the 402's offer; the settlement goes through and the
   * entitlement service dies before it can be credited.
   */
  const paidWhileEntitlementDies = async (name: string) => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, name);
    const key = { 'x-api-key': customer.apiKey };
    const refused = await call('/paid/a', key);
    const signature = pay(headerValues(refused, 'payment-required')[0]);
    facilitator.beforeSettle = async () => {
      facilitator.beforeSettle = undefined;
      await stack.kill('entitlement');
    };
    const failed = await call('/paid/a', { ...key, 'payment-signature': signature });
    return { customer, key, signature, failed };
  };

  it('entitlement down between settle and credit: 503, then the same credential is served once it is back, settled and credited once', async () => {
    const { customer, key, signature, failed } = await paidWhileEntitlementDies('outage');
    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({
      type: 'https://paygate.dev/problems/payment-unavailable',
    });
    expect(headerValues(failed, 'retry-after')).toEqual(['1']);
    expect(facilitator.settlements.size).toBe(2);

    await stack.restart('entitlement');
    const served = await eventually(
      () => call('/paid/a', { ...key, 'payment-signature': signature }),
      (answer) => answer.status !== 503,
      30_000,
    );
    expect(served.status).toBe(200);
    expect(headerValues(served, 'payment-response')).toHaveLength(1);
    // One settlement of that nonce, one payment row, its credit spent by the request.
    expect(facilitator.settlements.size).toBe(2);
    const payments = await paymentsOf(customer);
    expect(payments).toHaveLength(1);
    expect([...facilitator.settlements.values()]).toContain(payments[0].transaction);
    const balance: Json = await eventually(
      () => balanceOf(customer),
      (b: Json) => b.reserved === 0,
    );
    expect(balance).toMatchObject({ available: 0, reserved: 0 });

    // And once credited, the credential is spent.
    const replay = await call('/paid/a', { ...key, 'payment-signature': signature });
    expect(replay.status).toBe(402);
    expect(replay.body).toMatchObject({ type: 'https://paygate.dev/problems/payment-replayed' });
  });

  it('a facilitator that never settles twice: the credit is retried in the background, and the retried request is served from it without a second settlement', async () => {
    facilitator.refuseRepeats = true;
    const settlementsBefore = facilitator.calls.filter((c) => c.path === '/settle').length;
    const { customer, key, signature, failed } = await paidWhileEntitlementDies('chain');
    expect(failed.status).toBe(503);
    await stack.restart('entitlement');

    // Without any retry by the caller, the payment is credited once the service is back.
    const [payment] = await eventually(
      () => paymentsOf(customer),
      (rows) => rows.length === 1,
      30_000,
    );
    expect([...facilitator.settlements.values()]).toContain(payment.transaction);
    expect((await balanceOf(customer)).available).toBe(1);

    // The caller's retry is served from that credit, and nothing is settled again.
    const served = await call('/paid/a', { ...key, 'payment-signature': signature });
    expect(served.status).toBe(200);
    expect(headerValues(served, 'payment-response')).toHaveLength(1);
    expect(facilitator.calls.filter((c) => c.path === '/settle').length).toBe(
      settlementsBefore + 1,
    );
    expect(await paymentsOf(customer)).toHaveLength(1);
    const replay = await call('/paid/a', { ...key, 'payment-signature': signature });
    expect(replay.status).toBe(402);
  });

  it('gateway killed between settle and credit: the journal hands the payment to the settlement rounds, which credit it once; nothing lost, nothing settled twice', async () => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'killed');
    const key = { 'x-api-key': customer.apiKey };
    const refused = await call('/paid/a', key);
    const signature = pay(headerValues(refused, 'payment-required')[0]);
    const settlesBefore = facilitator.calls.filter((c) => c.path === '/settle').length;
    facilitator.beforeSettle = async () => {
      facilitator.beforeSettle = undefined;
      await stack.kill('gateway');
    };
    await expect(call('/paid/a', { ...key, 'payment-signature': signature })).rejects.toThrow();
    // Settled by the facilitator, journaled and not credited: the gateway died in between.
    expect(await journalOf(customer)).toEqual([
      expect.objectContaining({ status: 'settling', transaction: '', credits: '1' }),
    ]);
    expect((await balanceOf(customer)).available).toBe(0);

    await stack.restart('gateway');
    // Once the dead gateway's claim lapsed, the rounds settle it again (the facilitator answers
    // a repeat with the same transaction) and credit it.
    const [payment] = await eventually(
      () => paymentsOf(customer),
      (rows) => rows.length === 1,
      40_000,
    );
    expect([...facilitator.settlements.values()]).toContain(payment.transaction);
    expect(facilitator.calls.filter((c) => c.path === '/settle').length).toBe(settlesBefore + 2);
    expect(await balanceOf(customer)).toMatchObject({ available: 1, reserved: 0 });

    // The payer's credit serves its next call; the credential itself is spent.
    const replay = await call('/paid/a', { ...key, 'payment-signature': signature });
    expect(replay.status).toBe(402);
    expect(replay.body).toMatchObject({ type: 'https://paygate.dev/problems/payment-replayed' });
    expect((await call('/paid/a', key)).status).toBe(200);
    expect(await journalOf(customer)).toHaveLength(1);
  });
  it('a facilitator that does not answer the verify: 503 payment-unavailable, then served on the retry', async () => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'fac-down');
    const key = { 'x-api-key': customer.apiKey };
    const refused = await call('/paid/a', key);
    const signature = pay(headerValues(refused, 'payment-required')[0]);
    facilitator.verifyDown = true;
    let failed;
    try {
      failed = await call('/paid/a', { ...key, 'payment-signature': signature });
    } finally {
      facilitator.verifyDown = false;
    }
    // Not a 402 `payment-invalid`: nothing is known of the payment yet.
    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({
      type: 'https://paygate.dev/problems/payment-unavailable',
    });
    expect(headerValues(failed, 'retry-after')).toEqual(['1']);
    expect(await paymentsOf(customer)).toHaveLength(0);
    const served = await call('/paid/a', { ...key, 'payment-signature': signature });
    expect(served.status).toBe(200);
    expect(await paymentsOf(customer)).toHaveLength(1);
  });
});
