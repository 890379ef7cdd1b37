import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, Stack, eventually } from './support/stack';

// Problem bodies are read field by field, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * The page a 402's link opens, over plain HTTP (what a browser sends): signed link, the
 * reason in the browser's language, the numbers, and the demo provider's actions that unblock
 * the customer's next request.
 */
describe('billing page (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 14101,
      entitlementGrpc: 16151,
      metering: 14102,
      gateway: 19180,
      upstream: 15100,
    },
    'billing-',
  );
  let upstream: { server: Server; hits: () => number };
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const call = (apiKey: string) =>
    fetch(`${stack.url('gateway')}/demo/hello`, { headers: { 'x-api-key': apiKey } });
  const post = (url: string, form: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      body: new URLSearchParams(form),
      redirect: 'manual',
    });

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement', 'metering', 'gateway'], {
      BILLING_PORTAL_URL_TEMPLATE: `http://127.0.0.1:${stack.ports.entitlementHttp}/billing/{token}`,
      BILLING_PAYMENT_PROVIDER: 'demo',
      BILLING_UPGRADE_PLANS: 'e2e-unlimited',
    });
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('shows why in the browser language, tops up once per form, and the next request passes', async () => {
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 1, 'Billing Co');
    expect((await call(c.apiKey)).status).toBe(200);
    const refused = await call(c.apiKey);
    expect(refused.status).toBe(402);
    const { link } = (await refused.json()) as Json;

    const page = await fetch(link, { headers: { 'accept-language': 'de-DE,de;q=0.9' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain('data-code="insufficient-credits"');
    expect(html).toContain('Guthaben nicht ausreichend');
    expect(html).toContain('Diese Anfrage kostet 1 Credit, Ihr Guthaben beträgt 0.');
    expect(html).toContain('Billing Co');
    expect(html).toMatch(/data-testid="balance">0</);
    expect(html).toMatch(/data-testid="usage-requests">1 \/ 0</);
    const nonce = /name="nonce" value="([0-9a-f-]{36})"/.exec(html)?.[1];
    expect(nonce).toBeDefined();

    const action = `${link}/top-up`;
    const first = await post(action, { credits: '5', nonce: nonce! });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toMatch(/\?notice=done$/);
    // The same form sent twice (a double click, a reload) buys once.
    expect((await post(action, { credits: '5', nonce: nonce! })).status).toBe(303);
    const balance = (await (
      await fetch(`${stack.url('entitlement')}/v1/customers/${c.customerId}/balance`, {
        headers: admin,
      })
    ).json()) as Json;
    expect(balance.available).toBe(5);
    expect((await call(c.apiKey)).status).toBe(200);

    const invalid = await post(action, { credits: '0', nonce: randomUUID() });
    expect(invalid.status).toBe(400);
  });

  it('opens nothing with a forged or altered link', async () => {
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'Forged');
    const { link } = (await (await call(c.apiKey)).json()) as Json;
    const dot = (link as string).lastIndexOf('.');
    const [base, signature] = [(link as string).slice(0, dot), (link as string).slice(dot + 1)];
    for (const forged of [
      `${stack.url('entitlement')}/billing/${c.customerId}`,
      `${base}.${signature.split('').reverse().join('')}`,
    ]) {
      const response = await fetch(forged);
      expect(response.status).toBe(404);
      expect(((await response.json()) as Json).code).toBe('NOT_FOUND');
    }
  });

  it('pays an open invoice of a past-due customer and lets the next request through', async () => {
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, 'Past due');
    await fetch(`${stack.url('entitlement')}/v1/subscriptions/${c.subscriptionId}`, {
      method: 'PATCH',
      headers: admin,
      body: JSON.stringify({ status: 'past_due', gracePeriodSeconds: 0 }),
    });
    const refused = await call(c.apiKey);
    expect(refused.status).toBe(402);
    const { link, code } = (await refused.json()) as Json;
    expect(code).toBe('SUBSCRIPTION_PAST_DUE');
    const html = await (await fetch(link)).text();
    expect(html).toContain('data-testid="pay"');
    expect((await post(`${link}/pay`)).status).toBe(303);
    await eventually(
      async () => (await call(c.apiKey)).status,
      (status) => status === 200,
      5_000,
    );
    expect((await post(`${link}/pay`)).status).toBe(409);
  });

  it('offers the configured upgrade and applies it at once', async () => {
    await fetch(`${stack.url('entitlement')}/v1/plans`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        key: 'e2e-unlimited',
        name: 'Unlimited',
        features: [
          {
            key: 'requests',
            kind: 'metered',
            meterKey: 'api_requests',
            includedUnits: 0,
            limitPolicy: 'overage',
            unitPrice: 0,
          },
        ],
      }),
    });
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'Upgrader');
    const { link } = (await (await call(c.apiKey)).json()) as Json;
    const html = await (await fetch(link)).text();
    expect(html).toContain('data-testid="upgrade-e2e-unlimited"');
    expect((await post(`${link}/plan`, { plan: 'not-offered' })).status).toBe(404);
    expect((await post(`${link}/plan`, { plan: 'e2e-unlimited' })).status).toBe(303);
    await eventually(
      async () => (await call(c.apiKey)).status,
      (status) => status === 200,
      5_000,
    );
    expect(await (await fetch(link)).text()).toMatch(/data-testid="plan">e2e-unlimited</);
  });

  it('sells no credits where credits would not end the refusal (a blocked customer)', async () => {
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, 'Blocked');
    const blocked = await fetch(`${stack.url('entitlement')}/v1/customers/${c.customerId}`, {
      method: 'PATCH',
      headers: admin,
      body: JSON.stringify({ blocked: true }),
    });
    expect(blocked.status).toBe(200);
    const refused = await eventually(
      () => call(c.apiKey),
      (r) => r.status === 403,
      5_000,
    );
    const { link } = (await refused.json()) as Json;
    const html = await (await fetch(link)).text();
    expect(html).toContain('data-code="customer-blocked"');
    expect(html).not.toContain('data-testid="top-up"');
    // Nor does a form sent anyway buy anything.
    const bought = await post(`${link}/top-up`, { credits: '5', nonce: randomUUID() });
    expect(bought.status).toBe(404);
    const balance = (await (
      await fetch(`${stack.url('entitlement')}/v1/customers/${c.customerId}/balance`, {
        headers: admin,
      })
    ).json()) as Json;
    expect(balance.available).toBe(5);
  });
});
