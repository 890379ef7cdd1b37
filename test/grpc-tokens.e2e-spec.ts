import { status } from '@grpc/grpc-js';
import { EntitlementGrpcClient, testPayment } from '@paygate/testing';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, ARTIFACTS, Stack, eventually } from './support/stack';

// Response bodies are read field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** A rotation half done: the service takes both, the gateway already sends the new one. */
const OLD = `e2e-old-grpc-token-${'o'.repeat(24)}`;
const NEW = `e2e-new-grpc-token-${'n'.repeat(24)}`;
const WRONG = `e2e-wrong-grpc-token-${'w'.repeat(24)}`;

/**
 * The entitlement service with GRPC_TOKENS, as real processes: calls without one of its tokens
 * are refused UNAUTHENTICATED before anything runs (RecordPayment credits nothing), either token
 * of a rotation is taken, a gateway with the right token serves, and one with a wrong token
 * serves nothing, is not ready, and says why once in its log.
 */
describe('entitlement gRPC tokens (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 12801,
      entitlementGrpc: 12851,
      metering: 12802,
      gateway: 12870,
      upstream: 12840,
    },
    'grpc-tokens-',
  );
  const WRONG_GATEWAY = 12871;
  const ROTATED_GATEWAY = 12872;
  let upstream: { server: Server; hits: () => number };
  const clients: EntitlementGrpcClient[] = [];

  const grpcClient = (token?: string) => {
    const client = new EntitlementGrpcClient(stack.ports.entitlementGrpc, token);
    clients.push(client);
    return client;
  };
  const balance = (customerId: string) =>
    stack.operator<{ available: number; reserved: number }>(
      'GET',
      `/v1/customers/${customerId}/balance`,
    );
  const payment = (customerId: string) => testPayment(customerId);
  const codeOf = (call: Promise<unknown>) =>
    call.then(
      () => status.OK,
      (err: { code: number }) => err.code,
    );

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement'], { GRPC_TOKENS: `${OLD},${NEW}` });
    await stack.start(['gateway'], { ENTITLEMENT_GRPC_TOKEN: NEW });
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('refuses Check and RecordPayment without a token or with a wrong one, and credits nothing', async () => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, 'No token');
    const before = await balance(customer.customerId);
    for (const client of [grpcClient(), grpcClient(WRONG)]) {
      expect(await codeOf(client.check(customer.apiKey))).toBe(status.UNAUTHENTICATED);
      const refused = await client
        .recordPayment(payment(customer.customerId))
        .catch((err: { code: number; details: string }) => err);
      expect(refused).toMatchObject({ code: status.UNAUTHENTICATED });
      expect(JSON.stringify(refused)).not.toContain(WRONG);
    }
    expect(await balance(customer.customerId)).toEqual(before);
  });

  it('takes either token of a rotation', async () => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, 'Rotation');
    for (const token of [OLD, NEW]) {
      const decision = await grpcClient(token).check(customer.apiKey);
      expect(decision.allowed).toBe(true);
      await grpcClient(token).release(decision.leaseId, 'e2e', 1);
    }
    const credited = await grpcClient(OLD).recordPayment(payment(customer.customerId));
    expect(credited).toMatchObject({ replayed: false, customerId: customer.customerId });
    expect((await balance(customer.customerId)).available).toBe(5 + 7);
  });

  it('serves through a gateway that sends one of the tokens', async () => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, 'Gateway');
    const hits = upstream.hits();
    const response = await fetch(`${stack.url('gateway')}/demo/hello`, {
      headers: { 'x-api-key': customer.apiKey },
    });
    expect(response.status).toBe(200);
    expect(upstream.hits()).toBe(hits + 1);
    expect((await fetch(`${stack.url('gateway')}/ready`)).status).toBe(200);
  });

  it('serves nothing through a gateway with a wrong token, is not ready, and logs why once', async () => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, 'Wrong');
    const before = await balance(customer.customerId);
    const log = join(ARTIFACTS, 'grpc-tokens-gateway-wrong.log');
    // The log file is appended to across runs: this run's lines are past its size now.
    const offset = existsSync(log) ? statSync(log).size : 0;
    const base = `http://127.0.0.1:${WRONG_GATEWAY}`;
    await stack.startInstance(
      'gateway-wrong',
      'gateway',
      WRONG_GATEWAY,
      {
        ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
        // A route that fails open too: a refused token is no outage to serve through.
        ROUTES_FILE: stack.writeRoutes('grpc-wrong', { demo: {}, open: { failurePolicy: 'open' } }),
        ENTITLEMENT_GRPC_TOKEN: WRONG,
      },
      'live',
    );
    const hits = upstream.hits();
    for (const path of ['/demo/hello', '/demo/hello', '/open/hello']) {
      const response = await fetch(`${base}${path}`, { headers: { 'x-api-key': customer.apiKey } });
      expect(response.status).toBe(503);
      expect(((await response.json()) as Json).code).toBe('ENTITLEMENT_UNAVAILABLE');
    }
    expect(upstream.hits()).toBe(hits);

    const ready = await fetch(`${base}/ready`);
    const body = (await ready.json()) as Json;
    expect(ready.status).toBe(503);
    expect(body).toMatchObject({
      checks: { entitlement: 'failing' },
      reasons: {
        entitlement:
          "the entitlement service refuses this gateway's ENTITLEMENT_GRPC_TOKEN (not one of its GRPC_TOKENS)",
      },
    });
    expect(JSON.stringify(body)).not.toContain(WRONG);
    expect(await balance(customer.customerId)).toEqual(before);

    // One error naming the variable however many calls were refused, and never the token.
    const lines = await eventually(
      async () => readFileSync(log, 'utf8').slice(offset),
      (text) => text.includes("refuses this gateway's calls"),
      10_000,
    );
    const refusals = lines.split('\n').filter((l) => l.includes("refuses this gateway's calls"));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain('ENTITLEMENT_GRPC_TOKEN is not one of its GRPC_TOKENS');
    expect(JSON.parse(refusals[0])).toMatchObject({ level: 50 });
    expect(lines).not.toContain(WRONG);
  });
  it('does not fail open when the token is rotated away under a running gateway', async () => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, 'Rotated');
    const base = `http://127.0.0.1:${ROTATED_GATEWAY}`;
    await stack.startInstance('gateway-rotated', 'gateway', ROTATED_GATEWAY, {
      ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
      ROUTES_FILE: stack.writeRoutes('grpc-rotated', { open: { failurePolicy: 'open' } }),
      ENTITLEMENT_GRPC_TOKEN: OLD,
      // A lease per request: the next one must ask the service.
      LEASE_MAX_UNITS: '1',
    });
    const send = () => fetch(`${base}/open/hello`, { headers: { 'x-api-key': customer.apiKey } });
    // Admitted lately, which would let an outage through on this route.
    for (let i = 0; i < 2; i++) expect((await send()).status).toBe(200);
    await stack.kill('entitlement');
    try {
      await stack.restart('entitlement', { GRPC_TOKENS: NEW });
      const hits = upstream.hits();
      const refused = await send();
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as Json).code).toBe('ENTITLEMENT_UNAVAILABLE');
      expect(upstream.hits()).toBe(hits);
    } finally {
      await stack.kill('entitlement');
      await stack.restart('entitlement');
      await stack.kill('gateway-rotated');
    }
  }, 120_000);
});
