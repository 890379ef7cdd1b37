import { seedDemoCustomer } from '../scripts/seed-demo';
import { EntitlementGrpcClient } from '@paygate/testing';
import { ADMIN_TOKEN, Stack } from './support/stack';

/**
 * Two entitlement processes share one database: 200 concurrent decisions against 100 credits,
 * sent to both, admit exactly 100, and the balance ends at 0, never below.
 */
describe('exact admission across two entitlement instances (e2e)', () => {
  const first = new Stack(
    {
      entitlementHttp: 13201,
      entitlementGrpc: 15251,
      metering: 13202,
      gateway: 18280,
      upstream: 14200,
    },
    'first-',
  );
  const second = new Stack(
    {
      entitlementHttp: 13301,
      entitlementGrpc: 15351,
      metering: 13302,
      gateway: 18380,
      upstream: 14300,
    },
    'second-',
  );
  let clients: EntitlementGrpcClient[] = [];

  beforeAll(async () => {
    await Promise.all([first.start(['entitlement']), second.start(['entitlement'])]);
    clients = [
      new EntitlementGrpcClient(first.ports.entitlementGrpc),
      new EntitlementGrpcClient(second.ports.entitlementGrpc),
    ];
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([first.stop(), second.stop()]);
  });

  it('admits exactly the balance', async () => {
    const demo = await seedDemoCustomer(
      first.url('entitlement'),
      ADMIN_TOKEN,
      100,
      'E2E two instances',
    );
    const check = (c: EntitlementGrpcClient) => c.check(demo.apiKey);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => check(clients[i % 2])));
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    expect(
      results.filter((r) => !r.allowed).every((r) => r.denial?.code === 'insufficient-credits'),
    ).toBe(true);
    const balance = await (
      await fetch(`${second.url('entitlement')}/v1/customers/${demo.customerId}/balance`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json();
    expect(balance).toEqual({ customerId: demo.customerId, available: 0, reserved: 100 });
  });
});
