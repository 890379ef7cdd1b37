import { testConfig } from '@paygate/testing';
import { EntitlementFixture } from '@test/entitlement.fixture';
import {
  holdLocks,
  leaseEntries,
  reserveEntry,
  someoneWaits,
  untilSomeoneWaits,
  withStatements,
} from '@test/statements';
import { AlertSettings } from '../alerts/alert-settings';
import { createEntitlementServices } from '../entitlement.services';
import type { CheckInput, Decision } from './decision';

/**
 * A lease of the request's own cost decided in one statement (costAdmission): the same
 * outcome as the transaction's, and whatever it cannot decide left to the transaction, which
 * decides it as before.
 */
describe('a lease of the cost alone, in one statement (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(10);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => fx.close());

  const rows = (sql: string, values: unknown[]) => fx.dataSource.query(sql, values);

  /** The decision and the text of every statement it sent (see admission-writes.int-spec). */
  const decide = async (input: CheckInput, check = fx.check) => {
    const { result: decision, texts } = await withStatements(() => check.execute(input));
    return { decision, texts, began: texts.includes('START TRANSACTION') };
  };

  const lease = async (id: string) => {
    const [row] = await rows(
      `SELECT "units", "credits", "beyond_units", "status", "request_id" FROM "entitlement"."leases"
       WHERE "id" = $1`,
      [id],
    );
    return row;
  };
  const used = async (subscriptionId: string) => {
    const found = await rows(
      `SELECT COALESCE(SUM("used"), 0)::text AS "used" FROM "entitlement"."feature_usage"
       WHERE "subscription_id" = $1`,
      [subscriptionId],
    );
    return Number(found[0].used);
  };
  /** Credits the customer's active grants hold: always the balance (nothing overdrawn here). */
  const inGrants = async (customerId: string) => {
    const [row] = await rows(
      `SELECT COALESCE(SUM("remaining"), 0)::int AS "remaining" FROM "entitlement"."grants"
       WHERE "customer_id" = $1 AND "status" = 'active'`,
      [customerId],
    );
    return row.remaining as number;
  };
  /** Resolves once `done` settled (true) or a backend waits for a lock (false), whichever is first. */
  const settlesWithoutWaiting = async (done: Promise<unknown>) => {
    let settled = false;
    void done.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (;;) {
      if (settled) return true;
      if (await someoneWaits(fx.dataSource)) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  /** Another decision's transaction holding the window's counter row, until released. */
  const holdCounter = (subscriptionId: string) =>
    holdLocks(
      fx.dataSource,
      `SELECT "used" FROM "entitlement"."feature_usage" WHERE "subscription_id" = $1 FOR UPDATE`,
      [subscriptionId],
    );
  const leaseOf = (decision: Decision) => (decision.allowed ? (decision.leaseId ?? '') : '');
  const available = (customerId: string) => fx.ledger.available(fx.dataSource.manager, customerId);

  it('admits in two statements once the window has its counter, writing what the transaction writes', async () => {
    // 1 unit included at price 3: the second request's 2 units are 1 included and 1 paid.
    const tenant = await fx.seedTenant({
      credits: 10,
      feature: { includedUnits: 2, unitPrice: 3, limitPolicy: 'credits' },
    });
    await fx.credits.grant(tenant.customerId, { amount: 5, priority: 10 });
    // The window's first request opens its counter: the statement declines, the transaction
    // decides (and creates the row).
    const first = await decide(fx.checkInput(tenant.apiKey, 1));
    expect(first.decision).toMatchObject({ allowed: true, leaseUnits: 1 });
    expect(first.began).toBe(true);

    const input = fx.checkInput(tenant.apiKey, 2);
    const second = await decide(input);
    expect(second.decision).toMatchObject({
      allowed: true,
      customerId: tenant.customerId,
      plan: tenant.planKey,
      leaseUnits: 2,
    });
    // The read, then the one statement: no transaction.
    expect(second.texts).toHaveLength(2);
    expect(second.began).toBe(false);
    const leaseId = leaseOf(second.decision);
    expect(await lease(leaseId)).toEqual({
      units: '2',
      credits: '3',
      beyond_units: '1',
      status: 'held',
      request_id: input.requestId,
    });
    expect(await used(tenant.subscriptionId)).toBe(3);
    expect(await available(tenant.customerId)).toBe(12);
    // Burnt from the grant that burns first (priority 10), with the ledger's reserve entry.
    const allocations = await rows(
      `SELECT a."amount", g."amount" AS "granted" FROM "entitlement"."lease_grant_allocations" a
       JOIN "entitlement"."grants" g ON g."id" = a."grant_id" WHERE a."lease_id" = $1`,
      [leaseId],
    );
    expect(allocations).toEqual([{ amount: '3', granted: '5' }]);
    expect(await leaseEntries(fx.dataSource, leaseId)).toEqual([
      reserveEntry(leaseId, 3, input.requestId),
    ]);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('writes the lease and the counter alone for policies block and overage', async () => {
    for (const limitPolicy of ['block', 'overage'] as const) {
      const tenant = await fx.seedTenant({ feature: { includedUnits: 3, limitPolicy } });
      await fx.check.execute(fx.checkInput(tenant.apiKey, 1));
      const { decision, began } = await decide(fx.checkInput(tenant.apiKey, 2));
      expect(decision).toMatchObject({ allowed: true, leaseUnits: 2 });
      expect(began).toBe(false);
      expect(await lease(leaseOf(decision))).toMatchObject({
        units: '2',
        credits: '0',
        beyond_units: '0',
      });
      // Beyond the included units: block refuses (through the transaction), overage admits.
      const beyond = await decide(fx.checkInput(tenant.apiKey, 2));
      if (limitPolicy === 'block') {
        expect(beyond.decision).toMatchObject({
          allowed: false,
          denial: { code: 'quota-exhausted', limit: 3, used: 3, required: 2 },
        });
        expect(beyond.began).toBe(true);
        expect(await used(tenant.subscriptionId)).toBe(3);
      } else {
        expect(beyond.decision).toMatchObject({ allowed: true, leaseUnits: 2 });
        expect(beyond.began).toBe(false);
        expect(await lease(leaseOf(beyond.decision))).toMatchObject({
          units: '2',
          beyond_units: '2',
        });
        expect(await used(tenant.subscriptionId)).toBe(5);
      }
    }
  });

  it('leaves to the transaction a refusal, a balance taken to 0 and a grant that came due', async () => {
    const tenant = await fx.seedTenant({ credits: 3 });
    await fx.check.execute(fx.checkInput(tenant.apiKey, 1));
    // Short: refused by the transaction, nothing written.
    const short = await decide(fx.checkInput(tenant.apiKey, 5));
    expect(short.decision).toMatchObject({
      allowed: false,
      denial: { code: 'insufficient-credits', balance: 2, required: 5 },
    });
    expect(short.began).toBe(true);
    expect(await available(tenant.customerId)).toBe(2);
    expect(await used(tenant.subscriptionId)).toBe(1);
    const [{ count }] = await rows(
      `SELECT count(*)::int AS "count" FROM "entitlement"."leases" WHERE "customer_id" = $1`,
      [tenant.customerId],
    );
    expect(count).toBe(1);
    // Taken to exactly 0: the transaction takes it and tells the gateways.
    const last = await decide(fx.checkInput(tenant.apiKey, 2));
    expect(last.decision).toMatchObject({ allowed: true, leaseUnits: 2 });
    expect(last.began).toBe(true);
    expect(await available(tenant.customerId)).toBe(0);
    const changes: { value: Buffer }[] = await rows(
      `SELECT "value" FROM "entitlement"."outbox" WHERE "topic" = $1 AND "key" = $2 ORDER BY "id"`,
      [testConfig().topics.entitlementChanged, tenant.customerId],
    );
    expect(changes.map((c) => JSON.parse(c.value.toString()).reason)).toContain(
      'balance-exhausted',
    );

    // A grant effective from tomorrow: the day after, a decision finds it due, declines, and
    // the transaction settles it before taking.
    const DAY = 24 * 3600 * 1000;
    const tomorrow = new Date(fx.clock.now().getTime() + DAY).toISOString();
    await fx.credits.grant(tenant.customerId, { amount: 4, effectiveAt: tomorrow });
    fx.clock.advance(DAY + 1000);
    const due = await decide(fx.checkInput(tenant.apiKey, 1));
    expect(due.decision).toMatchObject({ allowed: true, leaseUnits: 1 });
    expect(due.began).toBe(true);
    expect(await available(tenant.customerId)).toBe(3);
    // Settled: the next one is the statement's again.
    const after = await decide(fx.checkInput(tenant.apiKey, 1));
    expect(after.began).toBe(false);
    expect(await available(tenant.customerId)).toBe(2);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('leaves to the transaction an admission that crosses an alert threshold', async () => {
    const alerting = createEntitlementServices(
      fx.dataSource,
      fx.clock,
      new AlertSettings('http://127.0.0.1:9/alerts', 'secret', [50], 5),
      testConfig().topics,
    );
    const tenant = await fx.seedTenant({
      credits: 10,
      feature: { includedUnits: 4, unitPrice: 1, limitPolicy: 'credits' },
    });
    const alerts = async () =>
      (
        await rows(
          `SELECT "payload" FROM "entitlement"."webhook_deliveries"
           WHERE "payload"->>'customerId' = $1`,
          [tenant.customerId],
        )
      )
        .map((r: { payload: { type: string } }) => r.payload.type)
        // Their ids are not in the order they were queued.
        .sort();
    await alerting.check.execute(fx.checkInput(tenant.apiKey, 1));
    // 1 → 2 of 4 reaches 50 %: the transaction queues the alert with the admission.
    const half = await decide(fx.checkInput(tenant.apiKey, 1), alerting.check);
    expect(half.began).toBe(true);
    expect(await alerts()).toEqual(['usage.threshold']);
    // 2 → 3 crosses nothing: one statement.
    expect((await decide(fx.checkInput(tenant.apiKey, 1), alerting.check)).began).toBe(false);
    // 3 → 5 of 4: 1 credit, 10 → 9, above the low balance of 5: one statement.
    expect((await decide(fx.checkInput(tenant.apiKey, 2), alerting.check)).began).toBe(false);
    expect(await available(tenant.customerId)).toBe(9);
    // 9 → 5 reaches the low balance: the transaction, with its alert.
    const low = await decide(fx.checkInput(tenant.apiKey, 4), alerting.check);
    expect(low.decision).toMatchObject({ allowed: true });
    expect(low.began).toBe(true);
    expect(await alerts()).toEqual(['balance.low', 'usage.threshold']);
    expect(await available(tenant.customerId)).toBe(5);
  });

  it('admits exactly the balance and the included units under 200 concurrent checks', async () => {
    // 50 included, then 100 credits at 2: 50 more. Every check after the first takes the
    // one-statement path until the balance's last credits, which the transaction takes.
    const tenant = await fx.seedTenant({
      credits: 100,
      feature: { includedUnits: 50, unitPrice: 2, limitPolicy: 'credits' },
    });
    await fx.check.execute(fx.checkInput(tenant.apiKey, 1));
    const { result: decisions, texts } = await withStatements(() =>
      Promise.all(
        Array.from({ length: 200 }, () => fx.check.execute(fx.checkInput(tenant.apiKey))),
      ),
    );
    const begun = texts.filter((t) => t === 'START TRANSACTION').length;
    // Not the transaction alone: the one statement admitted some (one that waited behind
    // another's take of the same balance declines to the transaction).
    expect(begun).toBeLessThan(200);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(99);
    expect(await used(tenant.subscriptionId)).toBe(100);
    expect(await available(tenant.customerId)).toBe(0);
    const [{ units, credits }] = await rows(
      `SELECT SUM("units")::int AS "units", SUM("credits")::int AS "credits"
       FROM "entitlement"."leases" WHERE "customer_id" = $1`,
      [tenant.customerId],
    );
    expect({ units, credits }).toEqual({ units: 100, credits: 100 });
    expect(await fx.ledger.findDrift()).toEqual([]);
    expect(await inGrants(tenant.customerId)).toBe(0);
  });

  it('takes the one statement for concurrent checks of different customers', async () => {
    const tenants = await Promise.all(
      Array.from({ length: 20 }, () =>
        fx.seedTenant({ credits: 10, feature: { includedUnits: 1, unitPrice: 2 } }),
      ),
    );
    await Promise.all(tenants.map((t) => fx.check.execute(fx.checkInput(t.apiKey))));
    const { result: decisions, texts } = await withStatements(() =>
      Promise.all(tenants.map((t) => fx.check.execute(fx.checkInput(t.apiKey, 2)))),
    );
    const begun = texts.filter((t) => t === 'START TRANSACTION');
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(begun).toHaveLength(0);
    for (const t of tenants) {
      expect(await available(t.customerId)).toBe(6);
      expect(await inGrants(t.customerId)).toBe(6);
    }
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('declines when the balance changed while it waited, and the transaction burns the newest grants', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    await fx.check.execute(fx.checkInput(tenant.apiKey));
    const release = await holdCounter(tenant.subscriptionId);
    const waiting = decide(fx.checkInput(tenant.apiKey, 5));
    await untilSomeoneWaits(fx.dataSource);
    // Meanwhile a grant that burns first arrives: the waiting statement's snapshot has not got it.
    const first = await fx.credits.grant(tenant.customerId, { amount: 100, priority: 1 });
    await release();
    const { decision, began } = await waiting;
    expect(decision).toMatchObject({ allowed: true, leaseUnits: 5 });
    expect(began).toBe(true);
    // Burnt from the newest grant, as the transaction burns: balance and grants agree.
    const allocations = await rows(
      `SELECT "grant_id", "amount" FROM "entitlement"."lease_grant_allocations" WHERE "lease_id" = $1`,
      [leaseOf(decision)],
    );
    expect(allocations).toEqual([{ grant_id: first.grant.id, amount: '5' }]);
    expect(await available(tenant.customerId)).toBe(104);
    expect(await inGrants(tenant.customerId)).toBe(104);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('counts a grant that expired while it waited for the counter as due, as the transaction does', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    await fx.check.execute(fx.checkInput(tenant.apiKey));
    // A grant that burns first and expires in 300 ms.
    const expiresAt = new Date(fx.clock.now().getTime() + 300).toISOString();
    const expiring = await fx.credits.grant(tenant.customerId, {
      amount: 5,
      priority: 1,
      expiresAt,
    });
    const release = await holdCounter(tenant.subscriptionId);
    // The decision reads its clock now and then waits for the counter past the expiry.
    const waiting = decide(fx.checkInput(tenant.apiKey, 2));
    await untilSomeoneWaits(fx.dataSource);
    await new Promise((resolve) => setTimeout(resolve, 600));
    fx.clock.advance(600);
    await release();
    const { decision, began } = await waiting;
    expect(decision).toMatchObject({ allowed: true, leaseUnits: 2 });
    // Declined by the statement; the transaction expired the grant before taking.
    expect(began).toBe(true);
    const allocations = await rows(
      `SELECT "grant_id" FROM "entitlement"."lease_grant_allocations" WHERE "lease_id" = $1`,
      [leaseOf(decision)],
    );
    expect(allocations).not.toContainEqual({ grant_id: expiring.grant.id });
    const [grant] = await rows(`SELECT "status" FROM "entitlement"."grants" WHERE "id" = $1`, [
      expiring.grant.id,
    ]);
    expect(grant).toEqual({ status: 'expired' });
    expect(await available(tenant.customerId)).toBe(7);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('locks no grant when included units pay, with its plan cached too', async () => {
    const tenant = await fx.seedTenant({ credits: 10, feature: { includedUnits: 20 } });
    // Sequential checks reuse one pooled connection, whose prepared statement Postgres may
    // plan generically after five executions: the gate on the grants must hold in that plan.
    for (let i = 0; i < 8; i++) await fx.check.execute(fx.checkInput(tenant.apiKey));
    // A credit change of the customer holds their grants (as a refund or a renewal does).
    const release = await holdLocks(
      fx.dataSource,
      `SELECT "id" FROM "entitlement"."grants" WHERE "customer_id" = $1 FOR UPDATE`,
      [tenant.customerId],
    );
    const deciding = decide(fx.checkInput(tenant.apiKey, 2));
    const unblocked = await settlesWithoutWaiting(deciding);
    await release();
    expect(unblocked).toBe(true);
    const { decision, began } = await deciding;
    expect(decision).toMatchObject({ allowed: true, leaseUnits: 2 });
    expect(began).toBe(false);
  });

  it('leaves a lease of more units than the cost to the transaction', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    await fx.check.execute(fx.checkInput(tenant.apiKey));
    const { decision, began } = await decide({ ...fx.checkInput(tenant.apiKey, 1), leaseUnits: 4 });
    expect(decision).toMatchObject({ allowed: true, leaseUnits: 4 });
    expect(began).toBe(true);
    expect(await available(tenant.customerId)).toBe(5);
  });
});
