import type { Server } from 'node:http';
import { join } from 'node:path';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { ARTIFACTS, Stack, eventually } from './support/stack';
import { adminApi, rateLimitedCustomer } from './support/rate-limited-customer';

/**
 * Plan rate limits shared by three gateway replicas (issue 18): the entitlement service counts
 * each window for all of them (TakeRateWindow), so one customer sending 10 × its limit through
 * all three is admitted at most its limit, and at most the documented bound fewer
 * ((N − 1) × (largest slice − 1), docs/decisions-and-leases.md); every other request is a 429
 * that never reaches the upstream and costs nothing.
 */
describe('rate limits shared by gateway replicas (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 17921,
      entitlementGrpc: 17951,
      metering: 17922,
      gateway: 17980,
      upstream: 17900,
    },
    'shared-limits-',
  );
  const replicas = [17981, 17982];
  let upstream: { server: Server; hits: () => number };

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement', 'gateway']);
    for (const [i, port] of replicas.entries()) {
      await stack.startInstance(`gateway-${i + 2}`, 'gateway', port, {
        ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
        ROUTES_FILE: join(ARTIFACTS, 'routes.e2e.json'),
      });
    }
  }, 120_000);
  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('admits a limit of 30 once across three replicas under 10 × that load, charging only what was served', async () => {
    const customer = await rateLimitedCustomer(stack.url('entitlement'), {
      limit: 30,
      credits: 1000,
      name: 'Shared',
    });
    const call = adminApi(stack.url('entitlement'));

    const gateways = [stack.ports.gateway, ...replicas].map((p) => `http://127.0.0.1:${p}`);
    const hitsBefore = upstream.hits();
    const statuses = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const response = await fetch(`${gateways[i % 3]}/demo/hello`, {
          headers: { 'x-api-key': customer.apiKey },
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    const served = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    expect(served + limited).toBe(300);
    // Largest slice: 10 % of 30 = 3; two other replicas hold at most 2 unadmitted units each.
    expect(served).toBeLessThanOrEqual(30);
    expect(served).toBeGreaterThanOrEqual(30 - 2 * 2);
    expect(upstream.hits() - hitsBefore).toBe(served);

    // Once the replicas gave their unused lease units back, exactly the served requests hold
    // credits (this stack has no metering to settle them).
    const balance = await eventually(
      () =>
        call<{ available: number; reserved: number }>(
          'GET',
          `/v1/customers/${customer.customerId}/balance`,
        ),
      (b) => b.reserved === served,
      30_000,
    );
    expect(balance.available).toBe(1000 - served);

    // Every replica now refuses before asking anyone.
    for (const gateway of gateways) {
      const refused = await fetch(`${gateway}/demo/hello`, {
        headers: { 'x-api-key': customer.apiKey },
      });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('ratelimit')).toMatch(/^"requests";r=0;t=\d+$/);
    }
    expect(upstream.hits() - hitsBefore).toBe(served);
  });
});
