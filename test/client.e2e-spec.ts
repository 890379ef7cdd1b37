import type { Server } from 'node:http';
import {
  ForbiddenError,
  InvalidRequestError,
  PaymentRequiredError,
  ProblemError,
  RateLimitedError,
  UnauthenticatedError,
  createPaygateClient,
} from '../libs/client/src';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, Stack } from './support/stack';

/** The client library against the real gateway: each problem arrives as its typed error. */
describe('client library against the gateway (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 14001,
      entitlementGrpc: 16051,
      metering: 14002,
      gateway: 19080,
      upstream: 15000,
    },
    'client-',
  );
  let upstream: { server: Server; hits: () => number };
  const operator = <T>(method: string, path: string, body?: unknown) =>
    stack.operator<T>(method, path, body);

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    const routes = stack.writeRoutes('client', { demo: {}, admin: { scopes: ['admin'] } });
    await stack.start(['entitlement', 'metering', 'gateway'], { ROUTES_FILE: routes });
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  const client = (apiKey?: string, onPaymentRequired?: (e: PaymentRequiredError) => void) =>
    createPaygateClient({ baseUrl: stack.url('gateway'), apiKey, onPaymentRequired });

  it('UnauthenticatedError for an unknown key, ForbiddenError for a missing scope', async () => {
    const unknown = await client('pg_live_unknown')
      .fetch('/demo/x')
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UnauthenticatedError);
    expect((unknown as UnauthenticatedError).requestId).toBeTruthy();
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, 'Client scopes');
    await expect(client(c.apiKey).fetch('/admin/x')).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('ProblemError for any other problem, e.g. no route (404), with its code', async () => {
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, 'Client 404');
    const error = (await client(c.apiKey)
      .fetch('/nowhere')
      .catch((e: unknown) => e)) as ProblemError;
    expect(error).toBeInstanceOf(ProblemError);
    expect(error).not.toBeInstanceOf(PaymentRequiredError);
    expect({ status: error.status, code: error.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(error.requestId).toBeTruthy();
  });

  it('InvalidRequestError naming what to correct, from the gateway and the operator API', async () => {
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, 'Client 400');
    // An encoded slash: the gateway refuses to guess which path it means.
    const refused = (await client(c.apiKey)
      .fetch('/demo/a%2fb')
      .catch((e: unknown) => e)) as InvalidRequestError;
    expect(refused).toBeInstanceOf(InvalidRequestError);
    expect(refused.errors.map((e) => e.field)).toEqual(['path']);
    expect(refused.errors[0].messages[0]).toBeTruthy();
    const operatorApi = createPaygateClient({ baseUrl: stack.url('entitlement') });
    const invalid = (await operatorApi
      .fetch('/v1/customers', {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 5 }),
      })
      .catch((e: unknown) => e)) as InvalidRequestError;
    expect(invalid).toBeInstanceOf(InvalidRequestError);
    expect(invalid.errors).toContainEqual(
      expect.objectContaining({ field: 'name', messages: expect.any(Array) }),
    );
  });

  it('PaymentRequiredError with the link and numbers, the hook called, and through after a top-up', async () => {
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 1, 'Client 402');
    const seen: PaymentRequiredError[] = [];
    const api = client(c.apiKey, (e) => void seen.push(e));
    expect(await api.json('/demo/x')).toMatchObject({ customerId: c.customerId });
    const error = (await api.fetch('/demo/x').catch((e: unknown) => e)) as PaymentRequiredError;
    expect(error).toBeInstanceOf(PaymentRequiredError);
    expect({ code: error.code, balance: error.balance, required: error.required }).toEqual({
      code: 'INSUFFICIENT_CREDITS',
      balance: 0,
      required: 1,
    });
    expect(error.link).toMatch(/\/billing\/[\w-]+\.[\w-]+$/);
    expect(error.requestId).toBeTruthy();
    expect(seen).toEqual([error]);
    await operator('POST', `/v1/customers/${c.customerId}/grants`, { amount: 1 });
    expect(await api.json('/demo/x')).toMatchObject({ customerId: c.customerId });
  });

  it('RateLimitedError with retryAfter, handed back at once when the wait is too long', async () => {
    const plan = await operator<{ id: string }>('POST', '/v1/plans', {
      key: `client-limited-${Date.now()}`,
      name: 'Limited',
      features: [
        {
          key: 'requests',
          kind: 'metered',
          meterKey: 'api_requests',
          includedUnits: 100,
          limitPolicy: 'block',
          unitPrice: 0,
          rateLimitRequests: 1,
          rateLimitWindowSeconds: 86_400,
        },
      ],
    });
    const customer = await operator<{ id: string }>('POST', '/v1/customers', {
      name: 'Client 429',
    });
    await operator('POST', `/v1/customers/${customer.id}/subscriptions`, {
      planId: plan.id,
      status: 'active',
    });
    const key = await operator<{ key: string }>('POST', `/v1/customers/${customer.id}/api-keys`, {
      name: 'e2e',
    });
    const api = createPaygateClient({
      baseUrl: stack.url('gateway'),
      apiKey: key.key,
      retry: { maxDelayMs: 1000 },
    });
    expect((await api.fetch('/demo/x')).status).toBe(200);
    const started = upstream.hits();
    const error = (await api.fetch('/demo/x').catch((e: unknown) => e)) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfter).toBeGreaterThan(1);
    expect(upstream.hits()).toBe(started);
  });
});
