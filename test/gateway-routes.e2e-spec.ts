import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, ARTIFACTS, Stack, eventually, metricsUrl } from './support/stack';

/**
 * The gateway's route table in YAML, matched by host, path and method, and reloaded without a
 * restart; a broken edit is refused and the last good table keeps serving.
 */
describe('gateway routes (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 13901,
      entitlementGrpc: 15951,
      metering: 13902,
      gateway: 18980,
      upstream: 14900,
    },
    'routes-',
  );
  const file = join(ARTIFACTS, 'routes.reload.yaml');
  const gateway = 'http://127.0.0.1:18981';
  const route = (name: string, prefix: string, extra = '') => `
  - name: ${name}
    pathPrefix: ${prefix}
    upstream: http://127.0.0.1:14900
    feature: requests
    cost: 1${extra}`;

  let upstream: { server: Server; hits: () => number };

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement']);
    writeFileSync(file, `routes:${route('demo', '/demo', '\n    methods: [GET]')}\n`);
    await stack.startInstance('gateway-routes', 'gateway', 18981, {
      ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
      ROUTES_FILE: file,
      ROUTES_POLL_MS: '200',
      USAGE_EVENT_SOURCE: 'paygate-gateway-routes-e2e',
    });
  });
  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('answers 405 with Allow for a method no route takes', async () => {
    const response = await fetch(`${gateway}/demo/x`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it('picks up an edited file without a restart and refuses a broken one', async () => {
    // No route: 404. Once the route exists, the same request is authenticated first (401).
    expect((await fetch(`${gateway}/reports/1`)).status).toBe(404);
    writeFileSync(
      file,
      `routes:${route('demo', '/demo', '\n    methods: [GET]')}${route('reports', '/reports', '\n    hosts: ["127.0.0.1"]')}\n`,
    );
    await eventually(
      async () => (await fetch(`${gateway}/reports/1`)).status,
      (status) => status === 401,
      10_000,
    );
    writeFileSync(file, 'routes: [ {name: broken');
    await new Promise((r) => setTimeout(r, 1000));
    expect((await fetch(`${gateway}/reports/1`)).status).toBe(401);
    const metrics = await (await fetch(metricsUrl(Number(new URL(gateway).port)))).text();
    expect(metrics).toMatch(/paygate_gateway_route_reloads_total\{outcome="refused"\} [1-9]/);
  });

  it('prices a request from a header, within the bounds of its route', async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 10, 'Priced');
    writeFileSync(
      file,
      `routes:${route('demo', '/demo', '\n    methods: [GET]')}${route(
        'priced',
        '/priced',
        '\n    stripPrefix: true\n    costFrom: { header: X-Units, max: 5 }',
      )}\n`,
    );
    const send = (units?: string) =>
      fetch(`${gateway}/priced/x`, {
        headers: { 'x-api-key': demo.apiKey, ...(units ? { 'x-units': units } : {}) },
      });
    await eventually(
      async () => (await send('4')).status,
      (status) => status === 200,
      10_000,
    );
    const refused = await send('6');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: unknown }).errors).toEqual([
      { field: 'X-Units', messages: ['must be a whole number of units from 1 to 5'] },
    ]);
    expect((await send()).status).toBe(200); // no header: the route's cost, 1
    // Lease units the gateway holds beyond these requests come back once idle.
    const balance = await eventually(
      async () =>
        (await (
          await fetch(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`, {
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          })
        ).json()) as { available: number },
      (b) => b.available === 10 - 4 - 1,
      10_000,
    );
    expect(balance.available).toBe(10 - 4 - 1);
  });
});
