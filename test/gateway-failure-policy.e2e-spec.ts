import { testConfig } from '@paygate/testing';
import type { Server } from 'node:http';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, Stack, eventually, metricsUrl, readTopicUntil } from './support/stack';

// JSON bodies are read field by field, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * The route failure policy while the entitlement service is down (killed, then restarted):
 * `closed` answers 503 once its live lease is spent; `open` goes on for keys it admitted
 * lately, within FAIL_OPEN_MAX_UNITS units, and those units are charged when the service is back.
 */
describe('gateway failure policy (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 13801,
      entitlementGrpc: 15851,
      metering: 13802,
      gateway: 18880,
      upstream: 14800,
    },
    'failure-',
  );
  let upstream: { server: Server; hits: () => number };

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement', 'metering']);
    const routes = stack.writeRoutes('failure-policy', {
      open: { failurePolicy: 'open' },
      closed: { failurePolicy: 'closed' },
    });
    await stack.start(['gateway'], {
      ROUTES_FILE: routes,
      LEASE_MAX_UNITS: '2',
      FAIL_OPEN_MAX_UNITS: '2',
    });
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('fails closed or open per route, and charges what it let through once the service is back', async () => {
    const openCustomer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 10, 'Open');
    const closedCustomer = await seedDemoCustomer(
      stack.url('entitlement'),
      ADMIN_TOKEN,
      10,
      'Closed',
    );
    const send = (path: string, apiKey: string) =>
      fetch(`${stack.url('gateway')}${path}`, { headers: { 'x-api-key': apiKey } });
    // While the service answers: each key's first request gets a lease of its one unit (a key
    // the gateway knows nothing of asks for what waits), its second a lease of two (then seen,
    // LEASE_MAX_UNITS 2) and uses one.
    for (let i = 0; i < 2; i++) {
      expect((await send('/open/x', openCustomer.apiKey)).status).toBe(200);
      expect((await send('/closed/x', closedCustomer.apiKey)).status).toBe(200);
    }

    await stack.kill('entitlement');
    // The second unit of each lease is still good.
    expect((await send('/open/x', openCustomer.apiKey)).status).toBe(200);
    expect((await send('/closed/x', closedCustomer.apiKey)).status).toBe(200);
    const closed = await send('/closed/x', closedCustomer.apiKey);
    expect(closed.status).toBe(503);
    expect(closed.headers.get('retry-after')).toBe('1');
    expect(await closed.json()).toMatchObject({ code: 'ENTITLEMENT_UNAVAILABLE' });
    // Open: a key admitted lately goes on, for at most FAIL_OPEN_MAX_UNITS (2) units...
    const open = [];
    for (let i = 0; i < 3; i++) open.push((await send('/open/x', openCustomer.apiKey)).status);
    expect(open).toEqual([200, 200, 503]);
    // ...and a key it has never admitted does not.
    expect((await send('/open/x', `pg_test_${'x'.repeat(32)}`)).status).toBe(503);

    await stack.restart('entitlement');
    // Three leased units and two let through unleased: 10 − 5, charged once, nothing reserved.
    const balance = await eventually(
      async () =>
        (await (
          await fetch(
            `${stack.url('entitlement')}/v1/customers/${openCustomer.customerId}/balance`,
            {
              headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
            },
          )
        ).json()) as { available: number; reserved: number },
      (b) => b.available === 5 && b.reserved === 0,
      60_000,
    );
    expect(balance).toMatchObject({ available: 5, reserved: 0 });
    const metrics = await (await fetch(stack.metricsUrl('gateway'))).text();
    expect(metrics).toMatch(/paygate_gateway_fail_open_total\{outcome="admitted"\} 2/);
  }, 120_000);

  it('is ready while it can work: not while the service is unreachable and every route fails closed', async () => {
    // entitlement.changed holds messages before the gateway starts (this customer's).
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 1, 'Ready');
    await readTopicUntil(testConfig().topics.entitlementChanged, (m) =>
      m.value.includes(customer.customerId),
    );
    const closedOnly = 'http://127.0.0.1:18882';
    await stack.startInstance('gateway-closed', 'gateway', 18882, {
      ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
      ROUTES_FILE: stack.writeRoutes('closed-only', { closed: { failurePolicy: 'closed' } }),
      CONSUMER_STALL_SECONDS: '5',
    });
    const ready = async (base: string) => {
      const response = await fetch(`${base}/ready`);
      return { status: response.status, body: (await response.json()) as Json };
    };
    // Its changes consumer reads from the end: what the topic held before is not lag, so it is
    // not stalled past the stall time (5 s, the least) and three lag polls (5 s apart).
    await new Promise((resolve) => setTimeout(resolve, 16_000));
    expect(await ready(closedOnly)).toMatchObject({ status: 200 });
    // The channel's state is a metric too: the one state it is in reads 1.
    const channelState = async () =>
      /paygate_gateway_entitlement_channel\{state="(\w+)"\} 1/.exec(
        await (await fetch(metricsUrl(18882))).text(),
      )?.[1];
    expect(await channelState()).toBe('READY');

    await stack.kill('entitlement');
    const down = await eventually(
      () => ready(closedOnly),
      (r) => r.status === 503,
      10_000,
    );
    expect(down.body).toMatchObject({
      checks: { entitlement: 'failing', usage: 'ok', 'entitlement-changes': 'ok' },
      reasons: {
        // With why, once a call tells (the service is down: nothing listens at its port).
        entitlement: expect.stringMatching(
          /gRPC channel is (TRANSIENT_FAILURE|CONNECTING|IDLE)(: nothing listens at ENTITLEMENT_GRPC_URL)?$/,
        ),
      },
    });
    expect(await channelState()).toMatch(/^(TRANSIENT_FAILURE|CONNECTING|IDLE)$/);
    // A gateway with a route that fails open stays in its load balancer: it serves on.
    expect(await ready(stack.url('gateway'))).toMatchObject({ status: 200 });

    await stack.restart('entitlement');
    await eventually(
      () => ready(closedOnly),
      (r) => r.status === 200,
      15_000,
    );
  }, 90_000);
});
