import { TcpRelay, testConfig } from '@paygate/testing';
import type { Server } from 'node:http';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { type DemoCustomer, seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, Stack, eventually } from './support/stack';

// JSON bodies are read field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * The entitlement and metering services reach Postgres through a relay of the test's own, which
 * then silences every connection open at that moment for good, as the old address of a
 * failed-over primary does (nothing closed, nothing answered), while new connections pass.
 * Pools of two connections, so without a deadline the silenced ones would hold a service's
 * whole pool for ever; with DATABASE_QUERY_TIMEOUT_MS at 1 s each service closes them and goes
 * on by itself, and every served request is still charged and metered exactly once.
 */
describe('a Postgres whose open connections go silent (e2e)', () => {
  const target = new URL(testConfig().databaseUrl);
  const stack = new Stack({
    entitlementHttp: 23121,
    entitlementGrpc: 23151,
    metering: 23122,
    gateway: 23180,
    upstream: 23140,
  });
  const CREDITS = 20;
  let relay: TcpRelay;
  let upstream: { server: Server; hits: () => number };
  let demo: DemoCustomer;

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  /** A request's status, 0 for one that got no answer within 10 s. */
  const statusOf = (url: string, headers: Record<string, string> = {}) =>
    fetch(url, { headers, signal: AbortSignal.timeout(10_000) }).then(
      (r) => r.status,
      () => 0,
    );
  const getJson = async (url: string): Promise<Json> =>
    (await fetch(url, { headers: admin, signal: AbortSignal.timeout(10_000) })).json();
  const callGateway = () =>
    statusOf(`${stack.url('gateway')}/demo/hello`, { authorization: `Bearer ${demo.apiKey}` });

  beforeAll(async () => {
    relay = await new TcpRelay(target.hostname, Number(target.port || 5432)).start();
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(undefined, {
      DATABASE_URL: relay.urlFor(target.href),
      DATABASE_POOL_SIZE: '2',
      DATABASE_QUERY_TIMEOUT_MS: '1000',
    });
    demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, CREDITS, 'Silent DB');
  });

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
    await relay?.cut();
  });

  it('answers, serves and meters again by itself; every served request charged once', async () => {
    let served = 0;
    for (let i = 0; i < 3; i++) if ((await callGateway()) === 200) served++;
    expect(served).toBe(3);

    expect(relay.connections).toBeGreaterThan(0);
    relay.freezeOpen();

    // The operator API and /ready answer again once the silent connections are given up.
    const customerUrl = `${stack.url('entitlement')}/v1/customers/${demo.customerId}`;
    await eventually(
      () => statusOf(customerUrl, admin),
      (s) => s === 200,
    );
    for (const service of ['entitlement', 'metering'] as const)
      await eventually(
        () => statusOf(`${stack.url(service)}/ready`),
        (s) => s === 200,
      );

    // The gateway serves again (its decisions need the entitlement service's database).
    await eventually(
      async () => {
        const status = await callGateway();
        if (status === 200) served++;
        return served;
      },
      (n) => n >= 8,
    );
    expect(upstream.hits()).toBe(served);

    // Every served request metered and charged once: the batches cut short were retried whole.
    const usage = await eventually(
      () =>
        getJson(
          `${stack.url('metering')}/v1/usage?customerId=${demo.customerId}&meterKey=api_requests`,
        ),
      (u) => u.total?.value >= served,
    );
    expect(usage.total).toEqual({ value: served, events: served });
    const balance = await eventually(
      () => getJson(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`),
      (b) => b.available + b.reserved <= CREDITS - served && b.reserved === 0,
    );
    expect(balance).toEqual({
      customerId: demo.customerId,
      available: CREDITS - served,
      reserved: 0,
    });
  });

  it('answers the operator API with 503 and Retry-After while Postgres is gone, and 200 once back', async () => {
    const customerUrl = `${stack.url('entitlement')}/v1/customers/${demo.customerId}`;
    await relay.cut();
    const answer = await eventually(
      () => fetch(customerUrl, { headers: admin, signal: AbortSignal.timeout(10_000) }),
      (r) => r.status !== 200,
    );
    // An outage, not a bug: a problem to retry, never a 500.
    expect({
      status: answer.status,
      type: answer.headers.get('content-type'),
      retryAfter: answer.headers.get('retry-after'),
      requestId: answer.headers.get('x-request-id') !== null,
    }).toEqual({
      status: 503,
      type: expect.stringMatching(/^application\/problem\+json/),
      retryAfter: '5',
      requestId: true,
    });
    expect(await answer.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    expect(await statusOf(`${stack.url('entitlement')}/ready`)).toBe(503);

    await relay.start();
    await eventually(
      () => statusOf(customerUrl, admin),
      (s) => s === 200,
    );
  });
});
