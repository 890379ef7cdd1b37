import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { EntitlementFixture } from '@test/entitlement.fixture';

const DAY = 24 * 3600 * 1000;

/** What a decision reads before its transaction: one statement for a key (decisionReads). */
describe('a decision’s reads (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => fx.close());

  it('reads key, customer, subscription and terms in one statement', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    // Every statement, however it is sent (TypeORM's manager, or prepared: preparedQuery),
    // goes through a pg Client's query.
    const statements = jest.spyOn(Client.prototype, 'query');
    const transactions = jest.spyOn(fx.dataSource, 'transaction');
    // A boolean feature is decided by those reads alone.
    const decision = await fx.check.execute(fx.checkInput(tenant.apiKey, 1, 'export'));
    expect(decision).toMatchObject({ allowed: true, customerId: tenant.customerId });
    expect(statements).toHaveBeenCalledTimes(1);
    expect(transactions).not.toHaveBeenCalled();

    // A metered one reads the same one statement first. The window's first request then tries
    // the one-statement admission (costAdmission), which declines without the window's
    // counter row, and the reservation's transaction creates it.
    statements.mockClear();
    const metered = await fx.check.execute(fx.checkInput(tenant.apiKey));
    expect(metered).toMatchObject({ allowed: true, leaseUnits: 1 });
    expect(transactions).toHaveBeenCalledTimes(1);
    const began = transactions.mock.invocationCallOrder[0];
    const before = statements.mock.invocationCallOrder.filter((order) => order < began);
    expect(before).toHaveLength(2);
    // Later ones: the read and the admission's one statement.
    statements.mockClear();
    expect(await fx.check.execute(fx.checkInput(tenant.apiKey))).toMatchObject({ allowed: true });
    expect(statements).toHaveBeenCalledTimes(2);
    expect(transactions).toHaveBeenCalledTimes(1);
  });

  it('refuses what each part of the statement says: no key, no subscription, no feature', async () => {
    expect(await fx.check.execute(fx.checkInput(`pk_${randomUUID()}`))).toEqual({
      allowed: false,
      denial: { code: 'unauthenticated' },
    });
    const customer = await fx.customers.create({ name: 'No subscription' });
    const key = await fx.apiKeys.create(customer.id, {});
    // Exactly: a subscription made of the statement's NULLs would add `plan: null`.
    expect(await fx.check.execute(fx.checkInput(key.key))).toEqual({
      allowed: false,
      customerId: customer.id,
      denial: { code: 'feature-not-in-plan', feature: 'requests' },
    });
    const tenant = await fx.seedTenant({ credits: 10 });
    expect(await fx.check.execute(fx.checkInput(tenant.apiKey, 1, 'missing'))).toEqual({
      allowed: false,
      customerId: tenant.customerId,
      denial: { code: 'feature-not-in-plan', plan: tenant.planKey, feature: 'missing' },
    });
  });

  it('decides on the new plan’s terms once a period ends with a plan change scheduled', async () => {
    // The old plan blocks at 0 included units and sells `export`; the new one includes 5
    // units and does not: what the statement read with the old period is stale after the roll.
    const tenant = await fx.seedTenant({ feature: { includedUnits: 0, limitPolicy: 'block' } });
    const next = await fx.plans.create({
      key: `next-${randomUUID().slice(0, 8)}`,
      name: 'Next',
      features: [
        {
          key: 'requests',
          kind: 'metered',
          meterKey: 'api_requests',
          includedUnits: 5,
          limitPolicy: 'block',
        },
      ],
    });
    await fx.subscriptions.update(tenant.subscriptionId, {
      planId: next.id,
      planChange: 'period_end',
    });
    expect(await fx.check.execute(fx.checkInput(tenant.apiKey))).toMatchObject({
      allowed: false,
      denial: { code: 'quota-exhausted', plan: tenant.planKey, limit: 0 },
    });

    fx.clock.advance(32 * DAY);
    expect(await fx.check.execute(fx.checkInput(tenant.apiKey))).toMatchObject({
      allowed: true,
      plan: next.key,
      leaseUnits: 1,
    });
    expect(await fx.check.execute(fx.checkInput(tenant.apiKey, 1, 'export'))).toMatchObject({
      allowed: false,
      denial: { code: 'feature-not-in-plan', plan: next.key, feature: 'export' },
    });
  });
});
