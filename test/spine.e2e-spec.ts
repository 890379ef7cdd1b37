import { DEAD_LETTER_HEADERS } from '@paygate/contracts';
import { MessageProducer, createKafka } from '@paygate/messaging';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { DemoCustomer, seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, Stack, eventually, readTopicUntil } from './support/stack';

/** This run's topics (test/support/global-setup.ts gives each run a prefix of its own). */
const topics = testConfig().topics;

// JSON bodies are checked field by field with matchers, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * The spine end to end, every part real: three service processes, Postgres, Kafka, an upstream.
 * A customer with 3 credits gets 3 answers from the upstream and then a 402 that never reaches it.
 */
describe('paygate spine (e2e)', () => {
  const stack = new Stack({
    entitlementHttp: 13001,
    entitlementGrpc: 15051,
    metering: 13002,
    gateway: 18080,
    upstream: 14000,
  });
  let upstream: { server: Server; hits: () => number };
  let demo: DemoCustomer;

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const getJson = async (url: string): Promise<Json> =>
    (await fetch(url, { headers: admin })).json();
  const callGateway = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${stack.url('gateway')}${path}`, { headers });

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start();
    demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 3, 'E2E customer');
  });

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('serves 3 paid requests, refuses the 4th with a 402 problem, meters 3 and leaves the balance at 0', async () => {
    const hitsBefore = upstream.hits();
    for (let i = 1; i <= 3; i++) {
      const response = await callGateway('/demo/hello', {
        authorization: `Bearer ${demo.apiKey}`,
        'x-request-id': `e2e-${i}-${demo.customerId}`,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).toBe(`e2e-${i}-${demo.customerId}`);
      const body: Json = await response.json();
      // The upstream sees the request id and the customer, never the API key.
      expect(body).toMatchObject({
        path: '/hello',
        customerId: demo.customerId,
        requestId: `e2e-${i}-${demo.customerId}`,
      });
    }
    expect(upstream.hits() - hitsBefore).toBe(3);

    const refused = await callGateway('/demo/hello', { 'x-api-key': demo.apiKey });
    expect(refused.status).toBe(402);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem: Json = await refused.json();
    expect(problem).toMatchObject({
      type: 'https://paygate.dev/problems/insufficient-credits',
      title: 'Insufficient credits',
      status: 402,
      instance: '/demo/hello',
      code: 'INSUFFICIENT_CREDITS',
      balance: 0,
      required: 1,
      plan: 'pay-as-you-go',
      feature: 'requests',
    });
    expect(problem.detail).toEqual(expect.any(String));
    // A signed, expiring token, never the bare customer id.
    expect(problem.link).toMatch(/\/billing\/[\w-]+\.[\w-]+$/);
    expect(problem.link).not.toContain(demo.customerId);
    expect(problem.requestId).toBe(refused.headers.get('x-request-id'));
    expect(refused.headers.get('content-language')).toBe('en');
    // The same refusal for a caller who reads French: translated, with the numbers.
    const inFrench = await callGateway('/demo/hello', {
      'x-api-key': demo.apiKey,
      'accept-language': 'fr-CH, fr;q=0.9, en;q=0.5',
    });
    expect(inFrench.status).toBe(402);
    expect(inFrench.headers.get('content-language')).toBe('fr');
    expect(await inFrench.json()).toMatchObject({
      title: 'Crédits insuffisants',
      detail: 'Cette requête coûte 1 crédit mais votre solde est de 0. Rechargez pour continuer.',
      code: 'INSUFFICIENT_CREDITS',
    });
    expect(upstream.hits() - hitsBefore).toBe(3);

    const usage = await eventually(
      () =>
        getJson(
          `${stack.url('metering')}/v1/usage?customerId=${demo.customerId}&meterKey=api_requests`,
        ),
      (u) => u.total.value >= 3,
    );
    expect(usage.total).toEqual({ value: 3, events: 3 });
    // reserved drops to 0 once usage.recorded has settled the three leases.
    const balance = await eventually(
      () => getJson(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`),
      (b) => b.reserved === 0,
    );
    expect(balance).toEqual({ customerId: demo.customerId, available: 0, reserved: 0 });
  });

  it('answers 401 with WWW-Authenticate for a missing or unknown key', async () => {
    for (const headers of [{}, { authorization: 'Bearer pg_live_nope' }] as Record<
      string,
      string
    >[]) {
      const response = await callGateway('/demo/hello', headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await response.json()).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    }
  });

  it('passes no hop-by-hop field either way and adds Forwarded and X-Forwarded-*', async () => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, 'E2E hops');
    // node:http, since fetch refuses to send connection-specific fields at all.
    const { headers, body } = await new Promise<{ headers: IncomingHttpHeaders; body: Json }>(
      (resolve, reject) => {
        const req = httpRequest(
          `${stack.url('gateway')}/demo/hop`,
          {
            headers: {
              'x-api-key': customer.apiKey,
              connection: 'keep-alive, x-client-hop',
              'x-client-hop': 'private',
              'keep-alive': 'timeout=5',
              te: 'trailers',
              'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
              forwarded: 'for=192.0.2.60;proto=https',
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString()) }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    const sent = body.headers as Record<string, string>;
    for (const name of ['x-client-hop', 'keep-alive', 'te', 'proxy-authorization', 'x-api-key'])
      expect(sent[name]).toBeUndefined();
    expect(sent.forwarded).toMatch(
      /^for=192\.0\.2\.60;proto=https, for=127\.0\.0\.1;proto=http;host="127\.0\.0\.1:\d+"$/,
    );
    expect(sent['x-forwarded-for']).toBe('127.0.0.1');
    expect(sent['x-paygate-customer-id']).toBe(customer.customerId);
    expect(headers['x-upstream-hop']).toBeUndefined();
    // The gateway's own server may announce its own keep-alive; the upstream's is not passed.
    expect(headers['keep-alive']).not.toBe('timeout=5');
    expect(headers['x-demo-upstream']).toBe('yes');
  });

  it('gives the credit back when the upstream fails', async () => {
    const customer = await seedDemoCustomer(
      stack.url('entitlement'),
      ADMIN_TOKEN,
      1,
      'E2E failing upstream',
    );
    const response = await callGateway('/demo/fail', {
      authorization: `Bearer ${customer.apiKey}`,
    });
    expect(response.status).toBe(503);
    const balance = await eventually(
      () => getJson(`${stack.url('entitlement')}/v1/customers/${customer.customerId}/balance`),
      (b) => b.available === 1,
    );
    expect(balance).toMatchObject({ available: 1, reserved: 0 });
    expect(
      (await callGateway('/demo/hello', { authorization: `Bearer ${customer.apiKey}` })).status,
    ).toBe(200);
  });

  it('lets a past-due customer through with a warning during the grace period, then answers 402', async () => {
    const customer = await seedDemoCustomer(
      stack.url('entitlement'),
      ADMIN_TOKEN,
      5,
      'E2E past due',
    );
    const patch = (body: object) =>
      fetch(`${stack.url('entitlement')}/v1/subscriptions/${customer.subscriptionId}`, {
        method: 'PATCH',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await patch({ status: 'past_due', gracePeriodSeconds: 3600 })).status).toBe(200);
    const during = await callGateway('/demo/hello', { authorization: `Bearer ${customer.apiKey}` });
    expect(during.status).toBe(200);
    expect(during.headers.get('paygate-warning')).toMatch(/^subscription-past-due; until="\d{4}-/);

    expect((await patch({ gracePeriodSeconds: 0 })).status).toBe(200);
    // Within a second the change reaches the gateway, which drops the customer's leases.
    const after = await eventually(
      () => callGateway('/demo/hello', { authorization: `Bearer ${customer.apiKey}` }),
      (response) => response.status === 402,
      5_000,
    );
    expect(await after.json()).toMatchObject({
      code: 'SUBSCRIPTION_PAST_DUE',
      plan: 'pay-as-you-go',
    });
  });

  it('puts a malformed usage event on the dead-letter topic with the reason', async () => {
    const kafka = createKafka('e2e', testConfig().kafkaBrokers);
    const marker = `e2e-malformed-${randomUUID()}`;
    const producer = new MessageProducer(kafka);
    await producer.connect();
    await producer.sendBatch([
      { topic: topics.usage, key: 'x', value: `{"id": "${marker}", broken` },
    ]);
    await producer.disconnect();

    const found = await readTopicUntil(topics.usageDeadLetter, (m) => m.value.includes(marker));
    expect(found).toHaveLength(1);
    expect(found[0].headers).toMatchObject({
      [DEAD_LETTER_HEADERS.reason]: 'malformed-json',
      [DEAD_LETTER_HEADERS.topic]: topics.usage,
    });

    const listed = await getJson(`${stack.url('metering')}/v1/dead-letters?limit=20`);
    expect(listed.deadLetters.some((d: { reason: string }) => d.reason === 'malformed-json')).toBe(
      true,
    );
  });

  it('refuses a revoked key within a second and announces the revocation on entitlement.changed', async () => {
    const customer = await seedDemoCustomer(
      stack.url('entitlement'),
      ADMIN_TOKEN,
      5,
      'E2E revoked',
    );
    const auth = { authorization: `Bearer ${customer.apiKey}` };
    expect((await callGateway('/demo/hello', auth)).status).toBe(200);
    const revoke = await fetch(`${stack.url('entitlement')}/v1/api-keys/${customer.apiKeyId}`, {
      method: 'DELETE',
      headers: admin,
    });
    expect(revoke.status).toBe(204);
    // The gateway may still hold lease units for the key: entitlement.changed drops them
    // (about a second: outbox relay, then the gateway's consumer); afterwards it asks again.
    await eventually(
      async () => (await callGateway('/demo/hello', auth)).status,
      (status) => status === 401,
      5_000,
    );
    const changes = await readTopicUntil(topics.entitlementChanged, (m) =>
      m.value.includes(customer.apiKeyId),
    );
    expect(changes.map((m) => JSON.parse(m.value).reason).sort()).toEqual([
      'api-key-created',
      'api-key-revoked',
    ]);
  });

  it('runs a mutating operator request once per Idempotency-Key', async () => {
    const create = (key: string, name: string) =>
      fetch(`${stack.url('entitlement')}/v1/customers`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ name }),
      });
    const key = `e2e-${randomUUID()}`;
    const first = await create(key, 'Once');
    const again = await create(key, 'Once');
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const [a, b]: Json[] = [await again.json(), await first.json()];
    expect(a.id).toBe(b.id);
    const other = await create(key, 'Another');
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ code: 'CONFLICT' });
  });

  it('updates and lists customers', async () => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'E2E rename');
    const patched = await fetch(`${stack.url('entitlement')}/v1/customers/${customer.customerId}`, {
      method: 'PATCH',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Renamed', email: 'billing@example.com' }),
    });
    expect(await patched.json()).toMatchObject({
      id: customer.customerId,
      name: 'Renamed',
      email: 'billing@example.com',
    });
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page: Json = await getJson(
        `${stack.url('entitlement')}/v1/customers?limit=2${after ? `&after=${after}` : ''}`,
      );
      seen.push(...page.customers.map((c: { id: string }) => c.id));
      after = page.next;
    } while (after);
    expect(seen).toContain(customer.customerId);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('answers operator API mistakes as problems, never 500', async () => {
    const invalid = await fetch(`${stack.url('entitlement')}/v1/customers`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: '', extra: true }),
    });
    expect(invalid.status).toBe(400);
    const body: Json = await invalid.json();
    expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['extra', 'name']);

    const unknown = await fetch(
      `${stack.url('entitlement')}/v1/customers/${randomUUID()}/balance`,
      { headers: admin },
    );
    expect(unknown.status).toBe(404);

    const noToken = await fetch(`${stack.url('entitlement')}/v1/plans`);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('content-type')).toMatch(/problem\+json/);
  });
});
