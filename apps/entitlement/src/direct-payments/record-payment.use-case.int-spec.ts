import type { EntitlementChangedEvent } from '@paygate/contracts';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import { MAX_BALANCE } from '../credits/ledger.service';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { domainRefusal } from '@test/refusal';
import type { RecordPaymentInput } from './record-payment.input';

/** Machine-payable 402s: a settled payment becomes credits exactly once (issue 17). */
describe('RecordPaymentUseCase (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(25);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const record = (input: RecordPaymentInput) => fx.services.recordPayment.execute(input);

  const paymentFor = (customerId: string, input: Partial<RecordPaymentInput> = {}) => {
    const nonce = randomUUID();
    return {
      customerId,
      paymentId: `paygate:test:0xpayer:${nonce}`,
      credits: 10,
      network: 'paygate:test',
      asset: 'USD',
      amount: '10000',
      payer: '0xpayer',
      transaction: `tx-${nonce}`,
      requestId: `req-${nonce}`,
      ...input,
    };
  };

  const available = async (customerId: string) => (await fx.credits.balance(customerId)).available;
  const grantsOf = (customerId: string) => fx.credits.listGrants(customerId);
  const rowsOf = async (paymentId: string) =>
    fx.dataSource.query<Record<string, string | null>[]>(
      `SELECT "payment_id", "customer_id", "network", "asset", "amount"::text AS "amount", "payer",
              "transaction", "credits"::text AS "credits", "grant_id", "request_id"
       FROM "entitlement"."direct_payments" WHERE "payment_id" = $1`,
      [paymentId],
    );
  const changes = async (customerId: string): Promise<string[]> => {
    const rows: { value: Buffer }[] = await fx.dataSource.query(
      `SELECT "value" FROM "entitlement"."outbox" WHERE "topic" = $1 AND "key" = $2 ORDER BY "id"`,
      [testConfig().topics.entitlementChanged, customerId],
    );
    return rows.map((r) => (JSON.parse(r.value.toString()) as EntitlementChangedEvent).reason);
  };

  it('records a payment once: a grant of exactly its credits, the row, a credits-granted change', async () => {
    const tenant = await fx.seedTenant({ credits: 3 });
    const changesBefore = (await changes(tenant.customerId)).length;
    const payment = paymentFor(tenant.customerId, { credits: 40 });

    const result = await record(payment);

    expect(result).toEqual({
      replayed: false,
      grantId: expect.any(String),
      balance: 43,
      customerId: tenant.customerId,
      authorizationOpen: false,
      claimed: false,
    });
    expect(await available(tenant.customerId)).toBe(43);
    const grant = (await grantsOf(tenant.customerId)).find((g) => g.id === result.grantId);
    expect(grant).toMatchObject({
      source: 'purchase',
      amount: 40,
      remaining: 40,
      status: 'active',
      customerId: tenant.customerId,
    });
    expect(await rowsOf(payment.paymentId)).toEqual([
      {
        payment_id: payment.paymentId,
        customer_id: tenant.customerId,
        network: 'paygate:test',
        asset: 'USD',
        amount: '10000',
        payer: '0xpayer',
        transaction: payment.transaction,
        credits: '40',
        grant_id: result.grantId,
        request_id: payment.requestId,
      },
    ]);
    expect((await changes(tenant.customerId)).slice(changesBefore)).toEqual(['credits-granted']);
    const { entries } = await fx.credits.history(tenant.customerId, 1);
    expect(entries[0]).toMatchObject({ type: 'grant', amount: 40 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('answers a replay of the same payment with replayed, the same grant, and changes nothing', async () => {
    const tenant = await fx.seedTenant({});
    const payment = paymentFor(tenant.customerId, { credits: 7 });
    const first = await record(payment);
    const changesBefore = (await changes(tenant.customerId)).length;

    // Same payment id, whatever else the replay says.
    const again = await record({ ...payment, credits: 700, transaction: 'tx-other' });

    expect(again).toEqual({
      replayed: true,
      grantId: first.grantId,
      balance: 7,
      customerId: tenant.customerId,
      authorizationOpen: false,
      claimed: false,
    });
    expect(await available(tenant.customerId)).toBe(7);
    expect(await grantsOf(tenant.customerId)).toHaveLength(1);
    expect(await rowsOf(payment.paymentId)).toEqual([
      expect.objectContaining({ credits: '7', transaction: payment.transaction }),
    ]);
    expect(await changes(tenant.customerId)).toHaveLength(changesBefore);
  });

  it('grants once among 20 concurrent calls with the same payment id; the others answer replayed', async () => {
    const tenant = await fx.seedTenant({ credits: 5 });
    const payment = paymentFor(tenant.customerId, { credits: 100 });

    const results = await Promise.all(Array.from({ length: 20 }, () => record(payment)));

    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(results.filter((r) => r.replayed)).toHaveLength(19);
    const [granted] = results.filter((r) => !r.replayed);
    expect(new Set(results.map((r) => r.grantId))).toEqual(new Set([granted.grantId]));
    // Every answer comes after the grant committed: each sees the credits.
    expect(results.every((r) => r.balance === 105)).toBe(true);
    expect(await rowsOf(payment.paymentId)).toHaveLength(1);
    const purchases = (await grantsOf(tenant.customerId)).filter((g) => g.source === 'purchase');
    expect(purchases).toHaveLength(1);
    expect(await available(tenant.customerId)).toBe(105);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('grants each of distinct payments, concurrent ones too', async () => {
    const tenant = await fx.seedTenant({});
    const payments = Array.from({ length: 8 }, (_, i) =>
      paymentFor(tenant.customerId, { credits: i + 1 }),
    );

    const results = await Promise.all(payments.map((p) => record(p)));

    expect(results.every((r) => !r.replayed)).toBe(true);
    expect(new Set(results.map((r) => r.grantId)).size).toBe(8);
    expect(await available(tenant.customerId)).toBe(36);
    expect(await grantsOf(tenant.customerId)).toHaveLength(8);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('stores an amount past 2^53 exactly', async () => {
    const tenant = await fx.seedTenant({});
    const amount = '123456789012345678901234567890';
    const payment = paymentFor(tenant.customerId, { amount });
    await record(payment);
    expect((await rowsOf(payment.paymentId))[0].amount).toBe(amount);

    const largest = paymentFor(tenant.customerId, { amount: '9'.repeat(78) });
    await record(largest);
    expect((await rowsOf(largest.paymentId))[0].amount).toBe('9'.repeat(78));
  });

  it('refuses an unknown customer with not-found and stores nothing', async () => {
    const payment = paymentFor(randomUUID());
    const err = await domainRefusal(record(payment));
    expect(err.code).toBe('not-found');
    expect(err.message).toContain(payment.customerId);
    expect(await rowsOf(payment.paymentId)).toEqual([]);
  });

  it('refuses bad fields with validation-failed naming them, and stores nothing', async () => {
    const tenant = await fx.seedTenant({});
    const cases: [string, Partial<RecordPaymentInput>][] = [
      ['credits', { credits: 0 }],
      ['credits', { credits: 2.5 }],
      ['amount', { amount: '-5' }],
      ['amount', { amount: '1'.repeat(79) }],
      ['paymentId', { paymentId: '' }],
      ['paymentId', { paymentId: 'p'.repeat(513) }],
      ['network', { network: '' }],
      ['network', { network: 'n'.repeat(65) }],
      ['customerId', { customerId: 'nope' }],
    ];
    for (const [field, input] of cases) {
      const payment = paymentFor(tenant.customerId, input);
      const err = await domainRefusal(record(payment));
      expect(err.code).toBe('validation-failed');
      expect(err.details.errors).toEqual([{ field, messages: [expect.any(String)] }]);
      expect(err.message).toContain(field);
    }
    expect(await grantsOf(tenant.customerId)).toEqual([]);
    const [{ count }]: { count: string }[] = await fx.dataSource.query(
      `SELECT count(*) FROM "entitlement"."direct_payments" WHERE "customer_id" = $1`,
      [tenant.customerId],
    );
    expect(count).toBe('0');
  });

  it('refuses credits past the ledger bound; nothing stored, so a retry is refused again', async () => {
    const tenant = await fx.seedTenant({});
    // Past 2^53 − 1: never a grant.
    const huge = await domainRefusal(
      record(paymentFor(tenant.customerId, { credits: MAX_BALANCE + 1 })),
    );
    expect(huge.code).toBe('validation-failed');
    expect(huge.details.errors).toEqual([{ field: 'credits', messages: [expect.any(String)] }]);

    // Within 2^53 − 1 but past what the balance has room for.
    await fx.credits.grant(tenant.customerId, { amount: MAX_BALANCE - 5 });
    const payment = paymentFor(tenant.customerId, { credits: 10 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const err = await domainRefusal(record(payment));
      expect(err.code).toBe('validation-failed');
      expect(err.details).toMatchObject({ maxBalance: MAX_BALANCE, maxGrant: 5 });
      expect(await rowsOf(payment.paymentId)).toEqual([]);
    }
    expect(await available(tenant.customerId)).toBe(MAX_BALANCE - 5);

    // What fits is granted.
    const fits = await record(paymentFor(tenant.customerId, { credits: 5 }));
    expect(fits).toMatchObject({ replayed: false, balance: MAX_BALANCE });
  });

  it('answers replayed to another customer presenting a recorded payment, granting it nothing', async () => {
    const payer = await fx.seedTenant({});
    const other = await fx.seedTenant({ credits: 2 });
    const payment = paymentFor(payer.customerId, { credits: 9 });
    const first = await record(payment);

    const replay = await record({ ...payment, customerId: other.customerId });

    // The customer named: a replay by another customer credits nobody.
    expect(replay).toEqual({
      replayed: true,
      grantId: first.grantId,
      balance: 2,
      customerId: other.customerId,
      authorizationOpen: false,
      claimed: false,
    });
    expect(await available(other.customerId)).toBe(2);
    expect(await available(payer.customerId)).toBe(9);
    expect(await rowsOf(payment.paymentId)).toEqual([
      expect.objectContaining({ customer_id: payer.customerId }),
    ]);
  });

  it('never commits a payment row without its grant (deferred foreign key)', async () => {
    const tenant = await fx.seedTenant({});
    const attempt = fx.dataSource.query(
      `INSERT INTO "entitlement"."direct_payments" ("payment_id", "customer_id", "network", "asset",
         "amount", "payer", "transaction", "credits", "grant_id")
       VALUES ($1, $2, 'paygate:test', 'USD', 1, 'p', 't', 1, $3)`,
      [`orphan-${randomUUID()}`, tenant.customerId, randomUUID()],
    );
    await expect(attempt).rejects.toThrow(/foreign key/);
  });
});
