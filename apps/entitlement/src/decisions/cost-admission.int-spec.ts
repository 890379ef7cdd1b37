import { testConfig } from '@paygate/testing';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { Client } from 'pg';
import { AlertSettings } from '../alerts/alert-settings';
import { createEntitlementServices } from '../entitlement.services';
import type { CheckInput, Decision } from './decision';

/** The text of a statement as pg's Client.query got it (a string, or a config's `text`). */
const textOf = (args: unknown[]) =>
  typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '');

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
    const statements = jest.spyOn(Client.prototype, 'query');
    const decision = await check.execute(input);
    const texts = statements.mock.calls.map((call) => textOf(call));
    statements.mockRestore();
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
    const entries = await rows(
      `SELECT "type", "amount", "idempotency_key", "description" FROM "entitlement"."ledger_entries"
       WHERE "lease_id" = $1`,
      [leaseId],
    );
    expect(entries).toEqual([
      {
        type: 'reserve',
        amount: '-3',
        idempotency_key: `lease:${leaseId}:reserve`,
        description: `request ${input.requestId}`,
      },
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
           WHERE "payload"->>'customerId' = $1 ORDER BY "id"`,
          [tenant.customerId],
        )
      ).map((r: { payload: { type: string } }) => r.payload.type);
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
    expect(await alerts()).toEqual(['usage.threshold', 'balance.low']);
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
    const decisions = await Promise.all(
      Array.from({ length: 200 }, () => fx.check.execute(fx.checkInput(tenant.apiKey))),
    );
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
  });
});
