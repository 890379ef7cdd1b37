import { EntitlementFixture } from '@test/entitlement.fixture';
import { holdLocks, untilSomeoneWaits } from '@test/statements';

describe('CheckUseCase (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(20);
  });
  afterAll(() => fx.close());

  it('admits exactly the balance under 200 concurrent checks and never goes below zero', async () => {
    const tenant = await fx.seedTenant({ credits: 100 });
    const decisions = await Promise.all(
      Array.from({ length: 200 }, () => fx.check.execute(fx.checkInput(tenant.apiKey))),
    );
    const allowed = decisions.filter((d) => d.allowed);
    const denied = decisions.filter((d) => !d.allowed);
    expect(allowed).toHaveLength(100);
    expect(denied).toHaveLength(100);
    for (const d of denied) expect(!d.allowed && d.denial.code).toBe('insufficient-credits');
    expect(await fx.ledger.balance(tenant.customerId)).toEqual({
      customerId: tenant.customerId,
      available: 0,
      reserved: 100,
    });
    const [{ leases }] = await fx.dataSource.query(
      `SELECT count(*)::int AS leases FROM "entitlement"."leases" WHERE "customer_id" = $1`,
      [tenant.customerId],
    );
    expect(leases).toBe(100);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('reports the numbers behind insufficient credits', async () => {
    const tenant = await fx.seedTenant({ credits: 2, feature: { unitPrice: 3 } });
    const decision = await fx.check.execute(fx.checkInput(tenant.apiKey));
    expect(decision).toMatchObject({
      allowed: false,
      customerId: tenant.customerId,
      denial: {
        code: 'insufficient-credits',
        plan: tenant.planKey,
        feature: 'requests',
        balance: 2,
        required: 3,
      },
    });
  });

  it('spends included units first, then refuses with quota-exhausted under the block policy', async () => {
    const tenant = await fx.seedTenant({ feature: { includedUnits: 3, limitPolicy: 'block' } });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await fx.check.execute(fx.checkInput(tenant.apiKey)));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[3]).toMatchObject({ denial: { code: 'quota-exhausted', limit: 3, used: 3 } });
    const denial = !results[3].allowed ? results[3].denial : undefined;
    expect(denial?.resetsAt).toBeInstanceOf(Date);
  });

  it('lets overage through beyond the included units', async () => {
    const tenant = await fx.seedTenant({ feature: { includedUnits: 1, limitPolicy: 'overage' } });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await fx.check.execute(fx.checkInput(tenant.apiKey)));
    expect(results.every((r) => r.allowed)).toBe(true);
  });

  it('releases a lease once, giving its credits back', async () => {
    const tenant = await fx.seedTenant({ credits: 1 });
    const decision = await fx.check.execute(fx.checkInput(tenant.apiKey));
    expect(decision.allowed && decision.leaseId).toBeTruthy();
    const leaseId = decision.allowed ? decision.leaseId! : '';
    const release = () =>
      fx.dataSource.transaction((m) => fx.settlement.release(m, leaseId, 'test'));
    expect(await release()).toBe(true);
    expect(await release()).toBe(false);
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(1);
    expect((await fx.check.execute(fx.checkInput(tenant.apiKey))).allowed).toBe(true);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('refuses unknown, revoked and expired keys as unauthenticated', async () => {
    const tenant = await fx.seedTenant({ credits: 5 });
    expect(await fx.check.execute(fx.checkInput('pg_live_unknown'))).toEqual({
      allowed: false,
      denial: { code: 'unauthenticated' },
    });
    await fx.apiKeys.revoke(tenant.apiKeyId);
    expect(await fx.check.execute(fx.checkInput(tenant.apiKey))).toMatchObject({
      denial: { code: 'unauthenticated' },
    });
    // Made to expire in a minute (a key that expired already is refused when made), then a
    // minute passes.
    const expiring = await fx.apiKeys.create(tenant.customerId, {
      expiresAt: new Date(fx.clock.now().getTime() + 60_000).toISOString(),
    });
    expect(await fx.check.execute(fx.checkInput(expiring.key))).toMatchObject({ allowed: true });
    fx.clock.advance(60_000);
    expect(await fx.check.execute(fx.checkInput(expiring.key))).toMatchObject({
      denial: { code: 'unauthenticated' },
    });
  });

  it('refuses a key without the required scope as forbidden', async () => {
    const tenant = await fx.seedTenant({ credits: 5, scopes: ['read'] });
    const input = { ...fx.checkInput(tenant.apiKey), requiredScopes: ['write'] };
    expect(await fx.check.execute(input)).toMatchObject({
      allowed: false,
      denial: { code: 'forbidden' },
    });
  });

  it('refuses every key of a blocked customer as customer-blocked, before its scopes', async () => {
    const tenant = await fx.seedTenant({ credits: 5, scopes: ['read'] });
    await fx.customers.update(tenant.customerId, { blocked: true });
    for (const requiredScopes of [[], ['write']]) {
      expect(
        await fx.check.execute({ ...fx.checkInput(tenant.apiKey), requiredScopes }),
      ).toMatchObject({ allowed: false, denial: { code: 'customer-blocked' } });
    }
  });

  it.each([
    ['past_due', 'subscription-past-due'],
    ['suspended', 'account-suspended'],
    ['unpaid', 'account-suspended'],
    ['canceled', 'subscription-expired'],
    ['expired', 'subscription-expired'],
  ] as const)('refuses a %s subscription with %s', async (status, code) => {
    const tenant = await fx.seedTenant({ credits: 5, status, gracePeriodSeconds: 0 });
    expect(await fx.check.execute(fx.checkInput(tenant.apiKey))).toMatchObject({
      allowed: false,
      denial: { code, plan: tenant.planKey },
    });
  });

  it('refuses a feature that is not in the plan and admits a boolean one without a lease', async () => {
    const tenant = await fx.seedTenant({ credits: 5 });
    expect(await fx.check.execute(fx.checkInput(tenant.apiKey, 1, 'premium'))).toMatchObject({
      denial: { code: 'feature-not-in-plan', feature: 'premium' },
    });
    const flag = await fx.check.execute(fx.checkInput(tenant.apiKey, 1, 'export'));
    expect(flag).toEqual({
      allowed: true,
      customerId: tenant.customerId,
      plan: tenant.planKey,
      readSnapshot: expect.stringMatching(/^\d+:\d+:/),
      readDatabaseRun: expect.stringMatching(/^\d+(\.\d+)?$/),
    });
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(5);
  });

  describe('leases of several units', () => {
    const leaseRow = async (id: string) =>
      (
        await fx.dataSource.query(
          `SELECT "units"::int, "consumed"::int, "returned"::int, "status" FROM "entitlement"."leases" WHERE "id" = $1`,
          [id],
        )
      )[0];
    const usedUnits = async (subscriptionId: string) =>
      (
        await fx.dataSource.query(
          `SELECT COALESCE(SUM("used"), 0)::int AS used FROM "entitlement"."feature_usage" WHERE "subscription_id" = $1`,
          [subscriptionId],
        )
      )[0].used;

    it('grants what included units allow, shrinking to the rest near the end', async () => {
      const tenant = await fx.seedTenant({ feature: { includedUnits: 10, limitPolicy: 'block' } });
      const lease = (units: number) =>
        fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: units });
      expect(await lease(4)).toMatchObject({ allowed: true, leaseUnits: 4 });
      expect(await lease(100)).toMatchObject({ allowed: true, leaseUnits: 6 });
      expect(await lease(100)).toMatchObject({
        allowed: false,
        denial: { code: 'quota-exhausted' },
      });
      expect(await usedUnits(tenant.subscriptionId)).toBe(10);
    });

    it('sizes a lease again from the balance when another change took some of it meanwhile', async () => {
      const tenant = await fx.seedTenant({ credits: 10, feature: { unitPrice: 1 } });
      // Another change of the customer's credits (a usage debit of 1, say) holds the balance
      // row after this decision read 10 and sized its lease to it.
      const release = await holdLocks(
        fx.dataSource,
        `WITH b AS (
           UPDATE "entitlement"."balances" SET "available" = "available" - 1 WHERE "customer_id" = $1),
         g AS (
           UPDATE "entitlement"."grants" SET "remaining" = "remaining" - 1
           WHERE "customer_id" = $1 AND "status" = 'active')
         INSERT INTO "entitlement"."ledger_entries" ("customer_id", "type", "amount", "idempotency_key")
         VALUES ($1, 'debit', -1, $2)`,
        [tenant.customerId, `test-debit:${tenant.customerId}`],
      );
      const deciding = fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 20 });
      await untilSomeoneWaits(fx.dataSource);
      await release();
      // Refused before (insufficient-credits, balance 9, required 1): admitted with what is left.
      expect(await deciding).toMatchObject({ allowed: true, leaseUnits: 9 });
      expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({
        available: 0,
        reserved: 9,
      });
      expect(await fx.ledger.findDrift()).toEqual([]);
    });

    it('grants what the balance pays for and refunds returned units, additively and once', async () => {
      const tenant = await fx.seedTenant({ credits: 11, feature: { unitPrice: 2 } });
      const d = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 50 });
      expect(d).toMatchObject({ allowed: true, leaseUnits: 5 });
      const leaseId = d.allowed ? d.leaseId! : '';
      expect((await fx.ledger.balance(tenant.customerId)).available).toBe(1);
      const release = (units?: number) =>
        fx.dataSource.transaction((m) => fx.settlement.release(m, leaseId, 'test', units));
      // Two units were served and settled; the gateway gives back one, then the rest.
      await fx.dataSource.transaction((m) =>
        fx.settlement.settle(m, [{ leaseId, quantity: 2 }], 'api_requests'),
      );
      expect(await release(1)).toBe(true);
      expect(await leaseRow(leaseId)).toEqual({
        units: 5,
        consumed: 2,
        returned: 1,
        status: 'held',
      });
      expect(await release()).toBe(true);
      expect(await release()).toBe(false);
      expect(await leaseRow(leaseId)).toEqual({
        units: 5,
        consumed: 2,
        returned: 3,
        status: 'settled',
      });
      expect((await fx.ledger.balance(tenant.customerId)).available).toBe(7);
      expect(await usedUnits(tenant.subscriptionId)).toBe(2);
      // Usage reported later under the closed lease is not covered: it is charged normally.
      expect(
        await fx.dataSource.transaction((m) =>
          fx.settlement.settle(m, [{ leaseId, quantity: 1 }], 'api_requests'),
        ),
      ).toBe(0);
      expect(await fx.ledger.findDrift()).toEqual([]);
    });

    it('never grants more than the balance under concurrent lease requests', async () => {
      const tenant = await fx.seedTenant({ credits: 100 });
      const decisions = await Promise.all(
        Array.from({ length: 40 }, () =>
          fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 7 }),
        ),
      );
      const granted = decisions.reduce((n, d) => n + (d.allowed ? (d.leaseUnits ?? 0) : 0), 0);
      expect(granted).toBe(100);
      expect((await fx.ledger.balance(tenant.customerId)).available).toBe(0);
      expect(await fx.ledger.findDrift()).toEqual([]);
    });
  });
});
