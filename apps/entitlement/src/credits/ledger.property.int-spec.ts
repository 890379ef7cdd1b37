import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';

type Op =
  | { kind: 'grant'; amount: number; replay: boolean }
  | { kind: 'check'; cost: number }
  | { kind: 'release'; pick: number }
  | { kind: 'usage'; leased: number; unleased: number; replay: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('grant' as const),
    amount: fc.integer({ min: 1, max: 20 }),
    replay: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('check' as const), cost: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('usage' as const),
    leased: fc.nat({ max: 3 }),
    unleased: fc.nat({ max: 3 }),
    replay: fc.boolean(),
  }),
);

/**
 * Random sequences of grants (some replayed), checks, releases and usage (some replayed)
 * against the real database: the stored balance always equals the ledger, a rebuild changes
 * nothing, and the balance only goes below zero by usage reported without a lease.
 */
describe('ledger properties (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  afterAll(() => fx.close());

  it('keeps balances equal to the ledger after any sequence of operations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const tenant = await fx.seedTenant({ feature: { unitPrice: 2 } });
        const held: string[] = [];
        let lastGrant: { key: string; amount: number } | undefined;
        let lastUsage: Parameters<typeof fx.charge.execute>[0] | undefined;
        let unleasedCharged = 0;
        for (const o of ops) {
          if (o.kind === 'grant') {
            // A replay repeats the previous grant exactly, as a retried request would.
            lastGrant = o.replay && lastGrant ? lastGrant : { key: randomUUID(), amount: o.amount };
            await fx.credits.grant(tenant.customerId, { amount: lastGrant.amount }, lastGrant.key);
          } else if (o.kind === 'check') {
            const d = await fx.check.execute(fx.checkInput(tenant.apiKey, o.cost));
            if (d.allowed && d.leaseId) held.push(d.leaseId);
          } else if (o.kind === 'release' && held.length > 0) {
            const [leaseId] = held.splice(o.pick % held.length, 1);
            await fx.dataSource.transaction((m) => fx.settlement.release(m, leaseId, 'property'));
          } else if (o.kind === 'usage') {
            if (o.replay && lastUsage) {
              await fx.charge.execute(lastUsage);
              continue;
            }
            const leased = held.splice(0, o.leased).map((leaseId) => ({ leaseId, quantity: 1 }));
            lastUsage = {
              id: randomUUID(),
              customerId: tenant.customerId,
              meterKey: 'api_requests',
              quantity: leased.length + o.unleased,
              leased,
              firstEventAt: fx.clock.now().toISOString(),
              lastEventAt: fx.clock.now().toISOString(),
              recordedAt: fx.clock.now().toISOString(),
            };
            await fx.charge.execute(lastUsage);
            unleasedCharged += o.unleased * 2;
          }
        }
        const balance = await fx.ledger.balance(tenant.customerId);
        const [{ sum }] = await fx.dataSource.query(
          `SELECT COALESCE(SUM("amount"), 0)::int AS "sum" FROM "entitlement"."ledger_entries" WHERE "customer_id" = $1`,
          [tenant.customerId],
        );
        expect(balance.available).toBe(sum);
        // Credits left in active grants cover the balance; the difference is the overdraft.
        const [{ granted }] = await fx.dataSource.query(
          `SELECT COALESCE(SUM("remaining"), 0)::int AS "granted" FROM "entitlement"."grants"
           WHERE "customer_id" = $1 AND "status" = 'active'`,
          [tenant.customerId],
        );
        expect(granted - balance.available).toBeGreaterThanOrEqual(0);
        expect(granted - balance.available).toBeLessThanOrEqual(unleasedCharged);
        if (balance.available >= 0 && unleasedCharged === 0)
          expect(granted).toBe(balance.available);
        expect(balance.available).toBeGreaterThanOrEqual(-unleasedCharged);
        expect(
          (await fx.ledger.findDrift()).filter((d) => d.customerId === tenant.customerId),
        ).toEqual([]);
      }),
      { numRuns: 30 },
    );
    expect(await fx.ledger.rebuild()).toEqual([]);
  });

  it('rebuild repairs a balance that was changed behind the ledger', async () => {
    const tenant = await fx.seedTenant({ credits: 9 });
    await fx.dataSource.query(
      `UPDATE "entitlement"."balances" SET "available" = 1000 WHERE "customer_id" = $1`,
      [tenant.customerId],
    );
    expect(await fx.ledger.findDrift()).toEqual([
      { customerId: tenant.customerId, stored: 1000, ledger: 9 },
    ]);
    expect(await fx.ledger.rebuild()).toEqual([
      { customerId: tenant.customerId, stored: 1000, ledger: 9 },
    ]);
    expect(await fx.ledger.findDrift()).toEqual([]);
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(9);
  });

  it('rebuild zeroes a balance that has no ledger entries at all', async () => {
    // A customer never granted anything has no ledger entries (and no balance row until a
    // row is written behind the ledger, by hand or by a bug).
    const tenant = await fx.seedTenant({});
    await fx.dataSource.query(
      `INSERT INTO "entitlement"."balances" ("customer_id", "available") VALUES ($1, 50)
       ON CONFLICT ("customer_id") DO UPDATE SET "available" = 50`,
      [tenant.customerId],
    );
    expect(await fx.ledger.findDrift()).toEqual([
      { customerId: tenant.customerId, stored: 50, ledger: 0 },
    ]);
    expect(await fx.ledger.rebuild()).toEqual([
      { customerId: tenant.customerId, stored: 50, ledger: 0 },
    ]);
    expect(await fx.ledger.findDrift()).toEqual([]);
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(0);
  });
});
