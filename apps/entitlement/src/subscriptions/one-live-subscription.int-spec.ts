import { DomainError } from '@paygate/problem-details';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { randomUUID } from 'node:crypto';
import { OneLiveSubscription1764500000027 } from '../database/migrations/1764500000027-one-live-subscription';
import { requestsFeature } from '../plans/demo-plan';

/** A customer has one live subscription: creates replace it, the database refuses a second. */
describe('one live subscription per customer (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(20);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const newPlan = (features = [requestsFeature()]) =>
    fx.plans.create({ key: `plan-${randomUUID().slice(0, 8)}`, name: 'Test plan', features });

  const statuses = async (customerId: string) =>
    (
      await fx.dataSource.query<{ id: string; status: string }[]>(
        `SELECT "id", "status" FROM "entitlement"."subscriptions" WHERE "customer_id" = $1`,
        [customerId],
      )
    ).reduce<Record<string, string>>((all, row) => ({ ...all, [row.id]: row.status }), {});

  const live = async (customerId: string) =>
    Object.entries(await statuses(customerId))
      .filter(([, status]) => !['canceled', 'expired'].includes(status))
      .map(([id]) => id);

  it('a create replaces the live subscription, and decisions follow the new one', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    const other = await newPlan([{ key: 'export', kind: 'boolean' }]);
    const next = await fx.subscriptions.create(tenant.customerId, { planId: other.id });
    expect(await statuses(tenant.customerId)).toEqual({
      [tenant.subscriptionId]: 'canceled',
      [next.id]: 'active',
    });
    expect((await fx.lifecycle.current(tenant.customerId))?.id).toBe(next.id);
    const check = (feature: string) =>
      fx.check.execute(fx.checkInput(tenant.apiKey, 1, feature)).then((d) => d.allowed);
    expect(await check('export')).toBe(true);
    expect(await check('requests')).toBe(false);
  });

  it('10 concurrent creates for one customer: every one succeeds, one stays live, and it counts', async () => {
    const customer = await fx.customers.create({ name: 'Racing operator' });
    const plan = await newPlan();
    const created = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        fx.subscriptions.create(customer.id, { planId: plan.id, status: 'active' }),
      ),
    );
    expect(created.filter((c) => c.status === 'rejected')).toEqual([]);
    const ids = created.map((c) => (c.status === 'fulfilled' ? c.value.id : ''));
    const left = await live(customer.id);
    expect(left).toHaveLength(1);
    expect(ids).toContain(left[0]);
    expect(Object.keys(await statuses(customer.id)).sort()).toEqual([...ids].sort());
    // The live one is the customer's subscription, whatever order the transactions began in.
    expect((await fx.lifecycle.current(customer.id))?.id).toBe(left[0]);
  });

  it("acknowledges a provider's status event for an ended subscription replaced since, applying nothing", async () => {
    const tenant = await fx.seedTenant({});
    await fx.subscriptions.update(tenant.subscriptionId, { status: 'expired' });
    const next = await fx.subscriptions.create(tenant.customerId, { planId: (await newPlan()).id });
    // Refused, the provider would deliver it for days, and no delivery could apply it.
    const paid = {
      provider: 'stripe',
      id: `evt_${randomUUID()}`,
      event: {
        kind: 'invoice-paid' as const,
        subscriptionId: tenant.subscriptionId,
        order: [Date.now()],
      },
    };
    expect(await fx.services.payments.execute(paid)).toBe('stale');
    expect(await statuses(tenant.customerId)).toEqual({
      [tenant.subscriptionId]: 'expired',
      [next.id]: 'active',
    });
    // Without another live one, the same event brings it back, as before.
    await fx.subscriptions.update(next.id, { status: 'canceled' });
    expect(
      await fx.services.payments.execute({
        ...paid,
        id: `evt_${randomUUID()}`,
        event: { ...paid.event, order: [Date.now() + 1] },
      }),
    ).toBe('applied');
    expect(await live(tenant.customerId)).toEqual([tenant.subscriptionId]);
  });

  it('a create of an ended subscription (history) leaves the live one live', async () => {
    const tenant = await fx.seedTenant({});
    const old = await fx.subscriptions.create(tenant.customerId, {
      planId: (await newPlan()).id,
      status: 'canceled',
    });
    expect(await statuses(tenant.customerId)).toEqual({
      [tenant.subscriptionId]: 'active',
      [old.id]: 'canceled',
    });
    expect((await fx.lifecycle.current(tenant.customerId))?.id).toBe(tenant.subscriptionId);
  });

  it('reviving an ended subscription while another is live is a 409 conflict', async () => {
    const tenant = await fx.seedTenant({});
    const plan = await newPlan();
    const next = await fx.subscriptions.create(tenant.customerId, { planId: plan.id });
    const revived = await fx.subscriptions
      .update(tenant.subscriptionId, { status: 'active' })
      .catch((e: unknown) => e);
    expect(revived).toBeInstanceOf(DomainError);
    expect(revived).toMatchObject({ code: 'conflict', details: { customerId: tenant.customerId } });
    expect(await live(tenant.customerId)).toEqual([next.id]);

    // Once the live one has ended, the old one may come back.
    await fx.subscriptions.update(next.id, { status: 'expired' });
    await fx.subscriptions.update(tenant.subscriptionId, { status: 'past_due' });
    expect(await live(tenant.customerId)).toEqual([tenant.subscriptionId]);
    expect((await fx.lifecycle.current(tenant.customerId))?.id).toBe(tenant.subscriptionId);
  });

  it('the database refuses a second live subscription written past the service', async () => {
    const tenant = await fx.seedTenant({});
    const insert = (status: string) =>
      fx.dataSource.query(
        `INSERT INTO "entitlement"."subscriptions" ("customer_id", "plan_id", "status",
           "current_period_start", "current_period_end", "billing_interval", "billing_anchor",
           "cancel_at_period_end", "grace_period_seconds")
         SELECT "customer_id", "plan_id", $2, now(), now() + interval '1 day', 'day', now(), false, 0
         FROM "entitlement"."subscriptions" WHERE "id" = $1`,
        [tenant.subscriptionId, status],
      );
    await expect(insert('trialing')).rejects.toMatchObject({
      code: '23505',
      constraint: 'subscriptions_one_live',
    });
    await expect(insert('canceled')).resolves.toBeDefined();
  });

  it('the migration ends every live subscription but the newest of its customer, then indexes', async () => {
    const runner = fx.dataSource.createQueryRunner();
    const migration = new OneLiveSubscription1764500000027();
    const plan = await newPlan();
    const customers = [
      await fx.customers.create({ name: 'Three live' }),
      await fx.customers.create({ name: 'Newest ended' }),
      await fx.customers.create({ name: 'Tied' }),
    ];
    await runner.startTransaction();
    try {
      // As the table was before: several live subscriptions of one customer.
      await migration.down(runner);
      const add = async (
        customer: string,
        status: string,
        createdAt: string,
        id = randomUUID(),
      ) => {
        await runner.query(
          `INSERT INTO "entitlement"."subscriptions" ("id", "customer_id", "plan_id", "status",
             "current_period_start", "current_period_end", "billing_interval", "billing_anchor",
             "cancel_at_period_end", "grace_period_seconds", "created_at")
           VALUES ($1, $2, $3, $4, now(), now() + interval '1 month', 'month', now(), false, 0, $5)`,
          [id, customer, plan.id, status, createdAt],
        );
        return id;
      };
      const [three, ended, tied] = customers.map((c) => c.id);
      const oldest = await add(three, 'active', '2026-01-01T00:00:00Z');
      const older = await add(three, 'past_due', '2026-02-01T00:00:00Z');
      const newest = await add(three, 'trialing', '2026-03-01T00:00:00Z');
      const before = await add(three, 'expired', '2025-12-01T00:00:00Z');
      const liveBehind = await add(ended, 'active', '2026-01-01T00:00:00Z');
      const newestEnded = await add(ended, 'canceled', '2026-02-01T00:00:00Z');
      // Equal times: decisions read the smaller id, so that one stays.
      const [low, high] = [randomUUID(), randomUUID()].sort();
      await add(tied, 'active', '2026-01-01T00:00:00Z', high);
      await add(tied, 'active', '2026-01-01T00:00:00Z', low);

      await migration.up(runner);
      const statusOf = async (customerId: string) => {
        const rows: { id: string; status: string }[] = await runner.query(
          `SELECT "id", "status" FROM "entitlement"."subscriptions" WHERE "customer_id" = $1`,
          [customerId],
        );
        return Object.fromEntries(rows.map((r) => [r.id, r.status]));
      };
      expect(await statusOf(three)).toEqual({
        [oldest]: 'canceled',
        [older]: 'canceled',
        [newest]: 'trialing',
        [before]: 'expired',
      });
      expect(await statusOf(ended)).toEqual({
        [liveBehind]: 'canceled',
        [newestEnded]: 'canceled',
      });
      expect(await statusOf(tied)).toEqual({ [low]: 'active', [high]: 'canceled' });
      const [index]: { indexdef: string }[] = await runner.query(
        `SELECT "indexdef" FROM pg_indexes WHERE "schemaname" = 'entitlement'
           AND "indexname" = 'subscriptions_one_live'`,
      );
      expect(index.indexdef).toContain('UNIQUE INDEX');
    } finally {
      // Nothing of it stays: the index is back as the migrations left it.
      await runner.rollbackTransaction();
      await runner.release();
    }
  });
});
