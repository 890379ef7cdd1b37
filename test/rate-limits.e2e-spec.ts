import type { Server } from 'node:http';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { Stack, eventually } from './support/stack';
import { adminApi, rateLimitedCustomer } from './support/rate-limited-customer';

/**
 * Plan rate limits at the gateway: allowed responses carry the IETF RateLimit fields, the
 * request over the limit gets a 429 problem with Retry-After (not a 402), never reaches the
 * upstream and costs nothing.
 */
describe('rate limits at the gateway (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 13801,
      entitlementGrpc: 15851,
      metering: 13802,
      gateway: 18880,
      upstream: 14800,
    },
    'rate-limits-',
  );
  let upstream: { server: Server; hits: () => number };

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement', 'gateway']);
  });
  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('answers 429 with Retry-After and RateLimit fields past the plan limit, without charging', async () => {
    const customer = await rateLimitedCustomer(stack.url('entitlement'), {
      limit: 3,
      credits: 10,
      name: 'Rate limited',
    });
    const call = adminApi(stack.url('entitlement'));

    const hitsBefore = upstream.hits();
    const send = () =>
      fetch(`${stack.url('gateway')}/demo/hello`, {
        headers: { 'x-api-key': customer.apiKey, 'accept-language': 'de' },
      });
    const allowed = [];
    for (let i = 0; i < 3; i++) allowed.push(await send());
    expect(allowed.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(allowed[0].headers.get('ratelimit-policy')).toBe('"requests";q=3;w=86400');
    expect(allowed.map((r) => r.headers.get('ratelimit')?.split(';t=')[0])).toEqual([
      '"requests";r=2',
      '"requests";r=1',
      '"requests";r=0',
    ]);

    // Over the limit twice: the first is refused after a decision, the second before any.
    for (let i = 0; i < 2; i++) {
      const refused = await send();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.headers.get('ratelimit')).toMatch(/^"requests";r=0;t=\d+$/);
      expect(refused.headers.get('content-language')).toBe('de');
      expect(await refused.json()).toMatchObject({
        status: 429,
        code: 'RATE_LIMITED',
        title: 'Zu viele Anfragen',
        limit: 3,
        feature: 'requests',
      });
    }
    expect(upstream.hits() - hitsBefore).toBe(3);
    // Three served requests hold three credits (reserved until metering settles them); the
    // lease of the request refused after its decision was released again.
    const balance = await eventually(
      () =>
        call<{ available: number; reserved: number }>(
          'GET',
          `/v1/customers/${customer.customerId}/balance`,
        ),
      (b) => b.reserved === 3,
    );
    expect(balance.available).toBe(7);
  });
});
