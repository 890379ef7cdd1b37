import type { CheckResponse } from '@paygate/contracts';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { EntitlementGrpcFixture } from '@test/entitlement-grpc.fixture';
import { requestsFeature } from '../plans/demo-plan';

/**
 * A plan's rate and concurrency limits for a feature are stored with the plan and told to the
 * gateway on every allowed decision, which enforces them.
 */
describe('plan limits in decisions (real Postgres)', () => {
  let fx: EntitlementFixture;
  let grpc: EntitlementGrpcFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
    grpc = await EntitlementGrpcFixture.start(fx);
  });
  afterAll(async () => {
    await grpc?.close();
    await fx?.close();
  });

  /** Check over the real proto (the fixture serves EntitlementGrpcController's Check). */
  const checkOverGrpc = (apiKey: string, feature = 'requests') =>
    grpc.call<CheckResponse>('check', fx.checkInput(apiKey, 1, feature));

  it('stores a feature concurrency limit and returns it, null when the plan sets none', async () => {
    const plan = await fx.plans.create({
      key: 'concurrency-plan',
      name: 'Concurrency',
      features: [requestsFeature({ concurrencyLimit: 7 }), { key: 'export', kind: 'boolean' }],
    });
    const stored = await fx.plans.get(plan.id);
    const byKey = Object.fromEntries(stored.features.map((f) => [f.featureKey, f]));
    expect(byKey.requests.concurrencyLimit).toBe(7);
    expect(byKey.export.concurrencyLimit).toBeNull();
  });

  it('carries the concurrency limit, with the rate limit, on allowed decisions', async () => {
    const tenant = await fx.seedTenant({
      credits: 10,
      feature: { concurrencyLimit: 3, rateLimitRequests: 10, rateLimitWindowSeconds: 60 },
    });

    expect(await fx.check.execute(fx.checkInput(tenant.apiKey))).toMatchObject({
      allowed: true,
      concurrencyLimit: 3,
      rateLimit: { requests: 10, windowSeconds: 60 },
    });
    // A cost-0 check (nothing reserved) carries it too.
    expect(await fx.check.execute(fx.checkInput(tenant.apiKey, 0))).toMatchObject({
      allowed: true,
      concurrencyLimit: 3,
    });
    // The plan's other feature has none.
    const other = await fx.check.execute(fx.checkInput(tenant.apiKey, 1, 'export'));
    expect(other.allowed).toBe(true);
    expect(other).not.toHaveProperty('concurrencyLimit');

    expect(await checkOverGrpc(tenant.apiKey)).toMatchObject({
      allowed: true,
      concurrencyLimit: 3,
      rateLimit: { requests: 10, windowSeconds: 60 },
      // What the gateway tells a change the answer was made with from a later one by.
      readSnapshot: expect.stringMatching(/^\d+:\d+:[\d,]*$/),
      readDatabaseRun: expect.stringMatching(/^\d+(\.\d+)?$/),
    });
    // proto3: none is 0.
    expect(await checkOverGrpc(tenant.apiKey, 'export')).toMatchObject({
      allowed: true,
      concurrencyLimit: 0,
    });
  });

  it('leaves it out of refusals', async () => {
    const tenant = await fx.seedTenant({ credits: 0, feature: { concurrencyLimit: 3 } });
    const refused = await fx.check.execute(fx.checkInput(tenant.apiKey));
    expect(refused).toMatchObject({ allowed: false, denial: { code: 'insufficient-credits' } });
    expect(refused).not.toHaveProperty('concurrencyLimit');
  });
});
