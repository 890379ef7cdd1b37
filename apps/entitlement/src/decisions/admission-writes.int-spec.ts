import { EntitlementFixture } from '@test/entitlement.fixture';
import { leaseEntries, reserveEntry, withStatements } from '@test/statements';
import type { CheckInput } from './decision';

/** What an admission writes, and that it writes it in one statement (admissionWrites). */
describe('an admission’s writes (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => fx.close());

  const rows = (sql: string, values: unknown[]) => fx.dataSource.query(sql, values);

  /**
   * Decides `input` and returns the decision, its lease, the text of every statement it sent
   * (however sent: TypeORM's manager or preparedQuery, both through a pg Client's query) and
   * those of them that insert the lease.
   */
  const decide = async (input: CheckInput) => {
    const { result: decision, texts } = await withStatements(() => fx.check.execute(input));
    return {
      decision,
      leaseId: decision.allowed ? decision.leaseId! : '',
      texts,
      writing: texts.filter((t) => t.includes('INSERT INTO "entitlement"."leases"')),
    };
  };

  it('writes lease, counter, burn with its allocations and reserve entry in one statement', async () => {
    // Units, credits, units paid with credits and the burn differ (2 included, price 3), so a
    // value in the wrong column shows.
    const tenant = await fx.seedTenant({
      credits: 5,
      feature: { includedUnits: 2, unitPrice: 3, limitPolicy: 'credits' },
    });
    // A second grant that burns first (lower priority number): the burn order holds.
    await fx.credits.grant(tenant.customerId, { amount: 10, priority: 10 });

    // Cost 2 from the included units, 4 more units on credits: 12 credits of 15.
    const input = { ...fx.checkInput(tenant.apiKey, 2), leaseUnits: 6 };
    const { decision, leaseId, texts, writing } = await decide(input);
    expect(decision).toMatchObject({ allowed: true, leaseUnits: 6 });
    // The read, BEGIN, the counter's lock, the balance (with whether grants came due), its
    // take, the writes, COMMIT.
    expect(texts).toHaveLength(7);
    expect(writing).toHaveLength(1);
    for (const table of ['feature_usage', 'grants', 'lease_grant_allocations', 'ledger_entries'])
      expect(writing[0]).toContain(`"entitlement"."${table}"`);
    // Nothing else writes those tables in the decision but the balance's take before it.
    const otherWrites = texts.filter(
      (t) => t !== writing[0] && /^\s*(WITH|INSERT|UPDATE)/.test(t) && !t.includes('balances'),
    );
    expect(otherWrites.map((t) => t.slice(0, 60))).toEqual([
      expect.stringContaining('INSERT INTO "entitlement"."feature_usage"'),
    ]);

    const [lease] = await rows(
      `SELECT "units", "credits", "beyond_units", "status", "subscription_id", "feature_key"
       FROM "entitlement"."leases" WHERE "id" = $1`,
      [leaseId],
    );
    expect(lease).toEqual({
      units: '6',
      credits: '12',
      beyond_units: '4',
      status: 'held',
      subscription_id: tenant.subscriptionId,
      feature_key: 'requests',
    });
    const [counter] = await rows(
      `SELECT "used" FROM "entitlement"."feature_usage" WHERE "subscription_id" = $1`,
      [tenant.subscriptionId],
    );
    expect(counter.used).toBe('6');
    // 10 from the first grant in burn order, 2 from the other: remembered for the lease.
    const allocations = await rows(
      `SELECT g."amount" AS "grant", a."amount" FROM "entitlement"."lease_grant_allocations" a
       JOIN "entitlement"."grants" g ON g."id" = a."grant_id" WHERE a."lease_id" = $1
       ORDER BY g."priority"`,
      [leaseId],
    );
    expect(allocations).toEqual([
      { grant: '10', amount: '10' },
      { grant: '5', amount: '2' },
    ]);
    const remaining = await rows(
      `SELECT "remaining" FROM "entitlement"."grants" WHERE "customer_id" = $1 ORDER BY "priority"`,
      [tenant.customerId],
    );
    expect(remaining.map((r: { remaining: string }) => r.remaining)).toEqual(['0', '3']);
    expect(await leaseEntries(fx.dataSource, leaseId)).toEqual([
      reserveEntry(leaseId, 12, input.requestId),
    ]);
    expect(await fx.ledger.available(fx.dataSource.manager, tenant.customerId)).toBe(3);
  });

  it('takes a request’s cost alone in the transaction where the one statement declines, settling grants that came due first', async () => {
    const DAY = 24 * 3600 * 1000;
    const inDays = (days: number) => new Date(fx.clock.now().getTime() + days * DAY).toISOString();
    const tenant = await fx.seedTenant({ credits: 5 });
    const ask = (cost: number, leaseUnits?: number) =>
      decide({ ...fx.checkInput(tenant.apiKey, cost), leaseUnits });
    const first = await ask(2);
    expect(first.decision).toMatchObject({ allowed: true, leaseUnits: 2 });
    // The read, the one-statement admission (declined: the window has no counter row yet,
    // see cost-admission.int-spec), BEGIN, the counter's lock, the take (with whether grants
    // came due), the writes, COMMIT.
    expect(first.texts).toHaveLength(7);
    expect(first.texts.filter((t) => t.includes('"entitlement"."grants" WHERE'))).toHaveLength(2);

    // 4 credits that expire tomorrow and 3 that start then: the day after, the 3 left of the
    // first grant are gone and the new 3 are there, and the take counts them so.
    await fx.credits.grant(tenant.customerId, { amount: 4, expiresAt: inDays(1), priority: 1 });
    await fx.credits.grant(tenant.customerId, { amount: 3, effectiveAt: inDays(1) });
    fx.clock.advance(2 * DAY);
    expect(await fx.ledger.available(fx.dataSource.manager, tenant.customerId)).toBe(7);
    const due = await ask(4);
    expect(due.decision).toMatchObject({ allowed: true, leaseUnits: 4 });
    expect(await fx.ledger.available(fx.dataSource.manager, tenant.customerId)).toBe(2);
    // A lease's extra units read the balance the same way: 2 left of 10 asked for.
    await fx.credits.grant(tenant.customerId, { amount: 2, expiresAt: inDays(1), priority: 1 });
    fx.clock.advance(2 * DAY);
    expect((await ask(1, 10)).decision).toMatchObject({ allowed: true, leaseUnits: 2 });
    expect(await fx.ledger.available(fx.dataSource.manager, tenant.customerId)).toBe(0);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('writes only the lease and the counter when included units pay', async () => {
    const tenant = await fx.seedTenant({ feature: { includedUnits: 10, limitPolicy: 'block' } });
    const { decision, leaseId, texts, writing } = await decide({
      ...fx.checkInput(tenant.apiKey, 1),
      leaseUnits: 4,
    });
    expect(decision).toMatchObject({ allowed: true, leaseUnits: 4 });
    // The read, BEGIN, the counter's lock, the writes (lease and counter), COMMIT.
    expect(texts).toHaveLength(5);
    expect(writing).toHaveLength(1);
    expect(writing[0]).toContain('UPDATE "entitlement"."feature_usage"');
    const [lease] = await rows(
      `SELECT "units", "credits", "beyond_units" FROM "entitlement"."leases" WHERE "id" = $1`,
      [leaseId],
    );
    expect(lease).toEqual({ units: '4', credits: '0', beyond_units: '0' });
    const [counter] = await rows(
      `SELECT "used" FROM "entitlement"."feature_usage" WHERE "subscription_id" = $1`,
      [tenant.subscriptionId],
    );
    expect(counter.used).toBe('4');
    for (const table of ['ledger_entries', 'lease_grant_allocations']) {
      const [{ count }] = await rows(
        `SELECT count(*)::int AS "count" FROM "entitlement"."${table}" WHERE "lease_id" = $1`,
        [leaseId],
      );
      expect(count).toBe(0);
    }
  });
});
