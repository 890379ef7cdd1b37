import { buildProblem, toProblemInput } from '@paygate/problem-details';
import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { domainRefusal } from '@test/refusal';
import { MAX_BALANCE } from './ledger.service';

const MAX = BigInt(MAX_BALANCE);
const DAY = 24 * 3600 * 1000;

/** Numbers that fit: a customer's credits stay within 2^53 − 1, reads never throw (issue 14). */
describe('credits at 2^53 − 1 (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(10);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const refusal = async (promise: Promise<unknown>) => {
    const input = toProblemInput(await domainRefusal(promise))!;
    return buildProblem(input, { instance: '/v1/customers/x/grants', requestId: 'r' });
  };

  it('grants 2^53 − 1 once; a second grant is a 400 naming amount, the bound and the balance', async () => {
    const tenant = await fx.seedTenant({});
    const key = randomUUID();
    const first = await fx.credits.grant(tenant.customerId, { amount: MAX_BALANCE }, key);
    expect(first.grant).toMatchObject({ amount: MAX_BALANCE, remaining: MAX_BALANCE });

    const problem = await refusal(fx.credits.grant(tenant.customerId, { amount: MAX_BALANCE }));
    expect(problem).toMatchObject({
      type: 'https://paygate.dev/problems/validation-failed',
      status: 400,
      code: 'VALIDATION_FAILED',
      maxBalance: MAX_BALANCE,
      balance: MAX_BALANCE,
      maxGrant: 0,
      errors: [{ field: 'amount', messages: [expect.stringContaining(String(MAX_BALANCE))] }],
    });
    expect(problem.detail).toContain(String(MAX_BALANCE));
    expect(problem.detail).not.toMatch(/[{}]/);
    // Even one more credit is refused; the refused grants left nothing behind.
    await refusal(fx.credits.grant(tenant.customerId, { amount: 1 }));
    expect(await fx.credits.listGrants(tenant.customerId)).toHaveLength(1);

    // The accepted grant's replay still answers with the first response.
    expect(await fx.credits.grant(tenant.customerId, { amount: MAX_BALANCE }, key)).toEqual({
      grant: first.grant,
      replayed: true,
    });
    expect(await fx.credits.balance(tenant.customerId)).toEqual({
      customerId: tenant.customerId,
      available: MAX_BALANCE,
      reserved: 0,
    });
    const { entries } = await fx.credits.history(tenant.customerId, 10);
    expect(entries.map((e) => e.amount)).toEqual([MAX_BALANCE]);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('lets exactly one of two concurrent grants of 2^53 − 1 through', async () => {
    const tenant = await fx.seedTenant({});
    const results = await Promise.allSettled([
      fx.credits.grant(tenant.customerId, { amount: MAX_BALANCE }),
      fx.credits.grant(tenant.customerId, { amount: MAX_BALANCE }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const [rejected] = results.filter((r) => r.status === 'rejected');
    expect(rejected.reason).toMatchObject({
      code: 'validation-failed',
    });
    expect((await fx.credits.balance(tenant.customerId)).available).toBe(MAX_BALANCE);
  });

  it('counts grants not yet effective and reserved credits, which can come back, against the bound', async () => {
    const tenant = await fx.seedTenant({});
    const later = new Date(fx.clock.now().getTime() + DAY).toISOString();
    await fx.credits.grant(tenant.customerId, { amount: MAX_BALANCE - 20, effectiveAt: later });
    await fx.credits.grant(tenant.customerId, { amount: 10 });
    // A lease reserves 4 credits: available 6, reserved 4, pending 2^53 − 21.
    const decision = await fx.check.execute({ ...fx.checkInput(tenant.apiKey, 4) });
    expect(decision.allowed).toBe(true);
    const problem = await refusal(fx.credits.grant(tenant.customerId, { amount: 11 }));
    expect(problem).toMatchObject({ balance: MAX_BALANCE - 10, maxGrant: 10 });
    await fx.credits.grant(tenant.customerId, { amount: 10 });
    // Everything comes back into the balance: exactly the bound, still a number.
    const leaseId = decision.allowed ? decision.leaseId! : '';
    await fx.dataSource.transaction((m) => fx.settlement.release(m, leaseId, 'test'));
    fx.clock.advance(DAY);
    expect(await fx.credits.balance(tenant.customerId)).toEqual({
      customerId: tenant.customerId,
      available: MAX_BALANCE,
      reserved: 0,
    });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('reads balances and ledgers past the bound (data from before it) exactly, as strings', async () => {
    const tenant = await fx.seedTenant({ credits: MAX_BALANCE });
    // Stored before the bound existed: a second grant of 2^53 − 1 in the ledger and balance.
    await fx.dataSource.query(
      `INSERT INTO "entitlement"."ledger_entries" ("customer_id", "type", "amount", "idempotency_key")
       VALUES ($1, 'adjust', $2, $3)`,
      [tenant.customerId, MAX.toString(), `legacy:${randomUUID()}`],
    );
    await fx.dataSource.query(
      `UPDATE "entitlement"."balances" SET "available" = "available" + $2 WHERE "customer_id" = $1`,
      [tenant.customerId, MAX.toString()],
    );
    expect(await fx.credits.balance(tenant.customerId)).toEqual({
      customerId: tenant.customerId,
      available: (MAX * 2n).toString(),
      reserved: 0,
    });
    const { entries } = await fx.credits.history(tenant.customerId, 10);
    expect(entries.map((e) => e.amount)).toEqual([MAX_BALANCE, MAX_BALANCE]);
    // Decisions read a saturated number and never throw.
    expect(await fx.ledger.available(fx.dataSource.manager, tenant.customerId)).toBe(MAX_BALANCE);
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(MAX_BALANCE);
    expect(await fx.ledger.findDrift()).toEqual([]);
    // A drift past the bound is reported exactly too.
    await fx.dataSource.query(
      `UPDATE "entitlement"."balances" SET "available" = "available" + 1 WHERE "customer_id" = $1`,
      [tenant.customerId],
    );
    expect(await fx.ledger.findDrift()).toEqual([
      {
        customerId: tenant.customerId,
        stored: (MAX * 2n + 1n).toString(),
        ledger: (MAX * 2n).toString(),
      },
    ]);
    await fx.ledger.rebuild();
    expect(await fx.ledger.findDrift()).toEqual([]);
    // A further grant is a 400, not a 500.
    const problem = await refusal(fx.credits.grant(tenant.customerId, { amount: 1 }));
    expect(problem).toMatchObject({ status: 400, balance: (MAX * 2n).toString(), maxGrant: 0 });
    expect((await fx.check.execute(fx.checkInput(tenant.apiKey))).allowed).toBe(true);
  });
});
