import type { Server } from 'node:http';
import { join } from 'node:path';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { query } from './support/database';
import { ADMIN_TOKEN, ARTIFACTS, Stack, eventually, metricsUrl } from './support/stack';

// JSON bodies are read field by field, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * Leases at the edge (ARCHITECTURE.md §4), every part real: two gateway replicas admit from
 * leases the entitlement service reserved in its ledger, so concurrent requests on both can
 * never be served beyond what the customer paid for, and metering records exactly what was.
 */
describe('gateway leases (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 13701,
      entitlementGrpc: 15751,
      metering: 13702,
      gateway: 18780,
      upstream: 14700,
    },
    'leases-',
  );
  const secondGateway = 18781;
  let upstream: { server: Server; hits: () => number };
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const getJson = async (url: string): Promise<Json> =>
    (await fetch(url, { headers: admin })).json();

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start();
    await stack.startInstance('gateway-b', 'gateway', secondGateway, {
      ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
      ROUTES_FILE: join(ARTIFACTS, 'routes.e2e.json'),
      USAGE_EVENT_SOURCE: 'paygate-gateway-e2e',
    });
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('serves exactly 500 of 2,000 concurrent requests on two replicas for 500 credits, and meters 500', async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 500, 'Leases');
    const gateways = [stack.url('gateway'), `http://127.0.0.1:${secondGateway}`];
    const hitsBefore = upstream.hits();
    const statuses = await Promise.all(
      Array.from({ length: 2000 }, async (_, i) => {
        const response = await fetch(`${gateways[i % 2]}/demo/hello`, {
          headers: { 'x-api-key': demo.apiKey },
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    const count = (status: number) => statuses.filter((s) => s === status).length;
    expect({
      served: count(200),
      refused: count(402),
      other: 2000 - count(200) - count(402),
    }).toEqual({ served: 500, refused: 1500, other: 0 });
    expect(upstream.hits() - hitsBefore).toBe(500);

    const usage = await eventually(
      () =>
        getJson(
          `${stack.url('metering')}/v1/usage?customerId=${demo.customerId}&meterKey=api_requests`,
        ),
      (u) => u.total.value >= 500,
      60_000,
    );
    expect(usage.total).toEqual({ value: 500, events: 500 });
    // Every lease settled by that usage: nothing reserved, nothing left, nothing below zero.
    const balance = await eventually(
      () => getJson(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`),
      (b) => b.reserved === 0,
      60_000,
    );
    expect(balance).toEqual({ customerId: demo.customerId, available: 0, reserved: 0 });
    const metrics = await (await fetch(stack.metricsUrl('gateway'))).text();
    expect(metrics).toMatch(/paygate_gateway_lease_units_total\{event="granted"\} [1-9]/);
    // The 500 served requests reached metering as aggregated events (USAGE_AGGREGATE_MS),
    // far fewer than 500, counted exactly above.
    let events = 0;
    let aggregated = 0;
    for (const port of [Number(new URL(stack.url('gateway')).port), secondGateway]) {
      const text = await (await fetch(metricsUrl(port))).text();
      events += Number(
        /paygate_gateway_usage_events_total\{outcome="sent"\} (\d+)/.exec(text)?.[1],
      );
      aggregated += Number(
        /paygate_gateway_served_requests_metered_total\{mode="aggregated"\} (\d+)/.exec(text)?.[1],
      );
    }
    expect(aggregated).toBe(500);
    expect(events).toBeGreaterThan(0);
    expect(events).toBeLessThan(250);
  }, 180_000);

  it('serves a key it has seen nothing of from a lease of its cost alone: nothing to give back', async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 10, 'Quiet');
    const send = () =>
      fetch(`${stack.url('gateway')}/demo/hello`, { headers: { 'x-api-key': demo.apiKey } });
    expect((await send()).status).toBe(200);
    const leases = () =>
      query<{ units: string; consumed: string; returned: string; closed: boolean }>(
        `SELECT "units"::text, "consumed"::text, "returned"::text,
           "gateway_closed_at" IS NOT NULL AS closed
         FROM "entitlement"."leases" WHERE "customer_id" = $1`,
        [demo.customerId],
      );
    // Through gRPC and Postgres: one unit, closed by the gateway as it was used up (nothing
    // held for the idle sweep to give back), and settled once by its usage.
    await eventually(
      () => getJson(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`),
      (b) => b.available === 9 && b.reserved === 0,
      15_000,
    );
    await eventually(leases, (rows) => rows.length === 1 && rows[0].closed, 15_000);
    expect(await leases()).toEqual([{ units: '1', consumed: '1', returned: '0', closed: true }]);
  }, 60_000);

  it('gives unused units back when idle, and unblocks a topped-up customer on the next request', async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 20, 'Top-up');
    const send = () =>
      fetch(`${stack.url('gateway')}/demo/hello`, { headers: { 'x-api-key': demo.apiKey } });
    const first = await Promise.all(Array.from({ length: 5 }, send));
    expect(first.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    // Whatever the lease held beyond these five goes back once idle.
    await eventually(
      () => getJson(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`),
      (b) => b.available === 15,
      10_000,
    );
    const rest = await Promise.all(Array.from({ length: 16 }, send));
    expect(rest.filter((r) => r.status === 200)).toHaveLength(15);
    expect((await send()).status).toBe(402);
    const grant = await fetch(
      `${stack.url('entitlement')}/v1/customers/${demo.customerId}/grants`,
      {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ amount: 1, description: 'top-up' }),
      },
    );
    expect(grant.status).toBe(201);
    // Refusals are never cached: the very next request sees the new credit.
    expect((await send()).status).toBe(200);
  }, 60_000);
});
