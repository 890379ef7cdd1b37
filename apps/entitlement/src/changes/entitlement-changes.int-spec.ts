import type { EntitlementChangedEvent } from '@paygate/contracts';
import { testConfig } from '@paygate/testing';
import { EntitlementFixture } from '@test/entitlement.fixture';

describe('entitlement.changed through the outbox (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  afterAll(() => fx.close());

  const changes = async (customerId: string): Promise<EntitlementChangedEvent[]> => {
    const rows: { value: Buffer }[] = await fx.dataSource.query(
      `SELECT "value" FROM "entitlement"."outbox" WHERE "topic" = $1 AND "key" = $2 ORDER BY "id"`,
      [testConfig().topics.entitlementChanged, customerId],
    );
    return rows.map((r) => JSON.parse(r.value.toString()) as EntitlementChangedEvent);
  };

  it('queues a change for each event that can change a decision, in its transaction', async () => {
    const tenant = await fx.seedTenant({ credits: 1 });
    expect((await changes(tenant.customerId)).map((c) => c.reason)).toEqual([
      'customer-created',
      'subscription-created',
      'credits-granted',
      'api-key-created',
    ]);

    expect((await fx.check.execute(fx.checkInput(tenant.apiKey))).allowed).toBe(true);
    await fx.subscriptions.update(tenant.subscriptionId, { status: 'suspended' });
    await fx.apiKeys.revoke(tenant.apiKeyId);
    await fx.apiKeys.revoke(tenant.apiKeyId);
    const all = await changes(tenant.customerId);
    expect(all.slice(4).map((c) => c.reason)).toEqual([
      'balance-exhausted',
      'subscription-changed',
      'api-key-revoked',
    ]);
    expect(all[6]).toMatchObject({ customerId: tenant.customerId, apiKeyId: tenant.apiKeyId });
    expect(all[5]).toMatchObject({ subscriptionId: tenant.subscriptionId });
  });

  it('queues nothing for a replayed grant or a refused check', async () => {
    const tenant = await fx.seedTenant({});
    const before = (await changes(tenant.customerId)).length;
    await fx.credits.grant(tenant.customerId, { amount: 1 }, `k-${tenant.customerId}`);
    await fx.credits.grant(tenant.customerId, { amount: 1 }, `k-${tenant.customerId}`);
    await fx.check.execute(fx.checkInput(tenant.apiKey, 5));
    expect((await changes(tenant.customerId)).length - before).toBe(1);
  });
});
