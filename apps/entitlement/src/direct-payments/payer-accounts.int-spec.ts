import { randomUUID } from 'node:crypto';
import type { CheckInput } from '../decisions/decision';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { payerAccountHelpers } from '@test/payer-accounts';
import type { RecordPaymentInput } from './record-payment.input';

/**
 * Anonymous pay-per-call: a payer without an API key becomes a customer on its first settled
 * payment (payer_accounts) and is then admitted by customer id (the price it is quoted before
 * paying: payer-quotes.int-spec.ts).
 */
describe('Payer accounts: anonymous pay-per-call (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(25);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const {
    record,
    check,
    payerPlan,
    newPayer,
    paymentOf,
    available,
    count,
    accountRows,
    customersNamed,
    leaseCount,
    refusal,
    expectOneCustomer,
  } = payerAccountHelpers(() => fx);

  describe('recording payments', () => {
    it('never makes a keyed customer of an anonymous caller presenting that customer’s payment', async () => {
      const plan = await payerPlan(1);
      const keyed = await fx.seedTenant({});
      const payer = newPayer();
      // The keyed customer authorized up to 10 credits with its wallet (upto, hold open).
      const authorization = {
        holdUntilMs: fx.clock.now().getTime() + 23 * 60 * 60 * 1000,
        protocol: 'x402',
        credential: 'credential',
        requirement: '{"scheme":"upto"}',
        amountPerUnit: '1000',
        amountPerCall: '5',
      };
      const ownPayment = {
        ...paymentOf(plan.key, payer),
        customerId: keyed.customerId,
        payerPlan: '',
        transaction: '',
        authorization,
      };
      expect(await record(ownPayment)).toMatchObject({ replayed: false });
      expect(await record(ownPayment)).toMatchObject({ replayed: true, authorizationOpen: true });
      // The same credential without the API key (a caller who copied it): nobody's, nothing open.
      const anonymous = await record({
        ...ownPayment,
        customerId: '',
        payerPlan: plan.key,
      });
      expect(anonymous).toEqual({
        replayed: true,
        grantId: '',
        balance: 0,
        authorizationOpen: false,
        claimed: false,
        customerId: '',
      });
      expect(await accountRows(`paygate:test:${payer}`)).toEqual([]);
      expect(await available(keyed.customerId)).toBe(10);
    });

    it('makes a new payer a customer on its first payment, and finds it on the next', async () => {
      const v1 = await payerPlan(2);
      const v2 = await payerPlan(3, {}, v1.key); // the newest version is the one subscribed to
      expect(v2.version).toBe(v1.version + 1);
      const payer = newPayer();
      const account = `paygate:test:${payer}`;
      expect(await accountRows(account)).toEqual([]);

      const first = await record(paymentOf(v1.key, payer, { credits: 10 }));

      expect(first).toEqual({
        replayed: false,
        grantId: expect.any(String),
        balance: 10,
        customerId: expect.any(String),
        authorizationOpen: false,
        claimed: false,
      });
      await expectOneCustomer(account, first.customerId, v2.id);
      expect(await available(first.customerId)).toBe(10);
      const [grant] = await fx.credits.listGrants(first.customerId);
      expect(grant).toMatchObject({ id: first.grantId, source: 'purchase', amount: 10 });
      const customer = await fx.customers.get(first.customerId);
      expect(customer).toMatchObject({ name: `payer ${account}`, email: null, blocked: false });

      const second = await record(paymentOf(v1.key, payer, { credits: 5 }));

      expect(second).toEqual({
        replayed: false,
        grantId: expect.any(String),
        balance: 15,
        customerId: first.customerId,
        authorizationOpen: false,
        claimed: false,
      });
      expect(second.grantId).not.toBe(first.grantId);
      await expectOneCustomer(account, first.customerId, v2.id);
      expect(await available(first.customerId)).toBe(15);
      expect(await fx.credits.listGrants(first.customerId)).toHaveLength(2);
      expect(
        await count(`"entitlement"."direct_payments" WHERE "customer_id" = $1`, [first.customerId]),
      ).toBe(2);
      expect(await fx.ledger.findDrift()).toEqual([]);
    });

    it('announces a new payer like any new customer (metering may hold unknown customers)', async () => {
      const plan = await payerPlan(1);
      const payer = newPayer();
      const first = await record(paymentOf(plan.key, payer, { credits: 2 }));
      const reasons = async () =>
        (
          await fx.dataSource.query<{ reason: string }[]>(
            `SELECT convert_from("value", 'UTF8')::json->>'reason' AS "reason"
             FROM "entitlement"."outbox" WHERE "key" = $1 ORDER BY "id"`,
            [first.customerId],
          )
        ).map((r) => r.reason);
      expect(await reasons()).toEqual(
        expect.arrayContaining(['customer-created', 'subscription-created']),
      );
      // Only the first payment creates: the next one of the same payer announces no customer.
      const again = await record(paymentOf(plan.key, payer, { credits: 1 }));
      expect(again.customerId).toBe(first.customerId);
      const created = (await reasons()).filter((r) => r.endsWith('-created'));
      expect(created.sort()).toEqual(['customer-created', 'subscription-created']);
    });

    it('keeps a payer on the plan version it joined when a newer one is created', async () => {
      const v1 = await payerPlan(2);
      const payer = newPayer();
      const first = await record(paymentOf(v1.key, payer));
      await payerPlan(9, {}, v1.key);

      const second = await record(paymentOf(v1.key, payer));

      expect(second.customerId).toBe(first.customerId);
      await expectOneCustomer(`paygate:test:${payer}`, first.customerId, v1.id);
    });

    it('treats EVM addresses case-insensitively, and other networks case-sensitively', async () => {
      const plan = await payerPlan(1);
      const hex = randomUUID().replace(/-/g, '').slice(0, 24);
      const checksummed = `0xAbC${hex.toUpperCase()}`;
      const lower = checksummed.toLowerCase();
      const evm = { network: 'eip155:8453' };

      const a = await record(paymentOf(plan.key, checksummed, { ...evm, credits: 4 }));
      const b = await record(paymentOf(plan.key, lower, { ...evm, credits: 6 }));

      expect(b.customerId).toBe(a.customerId);
      expect(b.balance).toBe(10);
      await expectOneCustomer(`eip155:8453:${lower}`, a.customerId, plan.id);
      expect(await accountRows(`eip155:8453:${checksummed}`)).toEqual([]);
      // The payment keeps the payer as the gateway reported it.
      const payers: { payer: string }[] = await fx.dataSource.query(
        `SELECT "payer" FROM "entitlement"."direct_payments" WHERE "customer_id" = $1
         ORDER BY "created_at", "payer"`,
        [a.customerId],
      );
      expect(payers.map((p) => p.payer).sort()).toEqual([checksummed, lower].sort());

      // Outside eip155 an address is what it says: two spellings, two payers.
      const upper = `AbC-${hex}`;
      const c = await record(paymentOf(plan.key, upper, { credits: 4 }));
      const d = await record(paymentOf(plan.key, upper.toLowerCase(), { credits: 6 }));

      expect(d.customerId).not.toBe(c.customerId);
      expect([c.customerId, d.customerId]).not.toContain(a.customerId);
      await expectOneCustomer(`paygate:test:${upper}`, c.customerId, plan.id);
      await expectOneCustomer(`paygate:test:${upper.toLowerCase()}`, d.customerId, plan.id);
      expect(await available(c.customerId)).toBe(4);
      expect(await available(d.customerId)).toBe(6);
    });

    it('makes one customer of 20 concurrent first payments of a new payer', async () => {
      const plan = await payerPlan(1);
      const payer = newPayer();
      const payments = Array.from({ length: 20 }, (_, i) =>
        paymentOf(plan.key, payer, { credits: i + 1 }),
      );

      const results = await Promise.all(payments.map((p) => record(p)));

      expect(results.every((r) => !r.replayed)).toBe(true);
      const [customerId] = new Set(results.map((r) => r.customerId));
      expect(new Set(results.map((r) => r.customerId)).size).toBe(1);
      expect(new Set(results.map((r) => r.grantId)).size).toBe(20);
      await expectOneCustomer(`paygate:test:${payer}`, customerId, plan.id);
      expect(await available(customerId)).toBe(210);
      expect(await fx.credits.listGrants(customerId)).toHaveLength(20);
      expect(await fx.ledger.findDrift()).toEqual([]);
    });

    it('answers a replay with replayed and the same customer, granting nothing more', async () => {
      const plan = await payerPlan(1);
      const payer = newPayer();
      const payment = paymentOf(plan.key, payer, { credits: 7 });
      const first = await record(payment);

      const again = await record({ ...payment, credits: 700, transaction: 'tx-other' });

      expect(again).toEqual({
        replayed: true,
        grantId: first.grantId,
        balance: 7,
        customerId: first.customerId,
        authorizationOpen: false,
        claimed: false,
      });
      expect(await available(first.customerId)).toBe(7);
      expect(await fx.credits.listGrants(first.customerId)).toHaveLength(1);
      await expectOneCustomer(`paygate:test:${payer}`, first.customerId, plan.id);
    });

    it('grants once and makes one customer among 20 concurrent calls with one payment id', async () => {
      const plan = await payerPlan(1);
      const payer = newPayer();
      const payment = paymentOf(plan.key, payer, { credits: 30 });

      const results = await Promise.all(Array.from({ length: 20 }, () => record(payment)));

      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      const customerIds = new Set(results.map((r) => r.customerId));
      expect(customerIds.size).toBe(1);
      const [customerId] = customerIds;
      expect(new Set(results.map((r) => r.grantId)).size).toBe(1);
      expect(results.every((r) => r.balance === 30)).toBe(true);
      await expectOneCustomer(`paygate:test:${payer}`, customerId, plan.id);
      expect(await available(customerId)).toBe(30);
    });

    it('refuses an unknown payer plan with not-found, storing nothing', async () => {
      const plan = `nope-${randomUUID().slice(0, 8)}`;
      const payer = newPayer();
      const account = `paygate:test:${payer}`;
      const payment = paymentOf(plan, payer);

      const err = await refusal(record(payment));

      expect(err.code).toBe('not-found');
      expect(err.message).toContain(plan);
      expect(await customersNamed(account)).toEqual([]);
      expect(await accountRows(account)).toEqual([]);
      expect(
        await count(`"entitlement"."direct_payments" WHERE "payment_id" = $1`, [payment.paymentId]),
      ).toBe(0);
    });

    it('refuses payerPlan with a customerId, or a bad payerPlan, naming the field', async () => {
      const plan = await payerPlan(1);
      const tenant = await fx.seedTenant({});
      const payer = newPayer();
      const account = `paygate:test:${payer}`;
      const cases: [string, Partial<RecordPaymentInput>][] = [
        ['customerId', { customerId: tenant.customerId }],
        ['payerPlan', { payerPlan: 'Bad Key!' }],
      ];
      for (const [field, input] of cases) {
        const payment = paymentOf(plan.key, payer, input);
        const err = await refusal(record(payment));
        expect(err.code).toBe('validation-failed');
        expect(err.details.errors).toEqual([{ field, messages: [expect.any(String)] }]);
        expect(err.message).toContain(field);
      }
      expect(await customersNamed(account)).toEqual([]);
      expect(await accountRows(account)).toEqual([]);
      expect(await fx.credits.listGrants(tenant.customerId)).toEqual([]);
    });
  });

  describe('checks by customer id (a settled payment identified the payer)', () => {
    const byCustomer = (customerId: string, cost: number, feature = 'requests'): CheckInput => ({
      ...fx.checkInput('', cost, feature),
      customerId,
    });

    it('admits a paying customer, reserving cost × unit price from its balance', async () => {
      const v1 = await payerPlan(2);
      await payerPlan(3, {}, v1.key); // the customer joins the newest version: 3 a unit
      const paid = await record(paymentOf(v1.key, newPayer(), { credits: 10 }));

      const decision = await check(byCustomer(paid.customerId, 2));

      expect(decision).toMatchObject({
        allowed: true,
        customerId: paid.customerId,
        plan: v1.key,
        leaseId: expect.any(String),
        leaseUnits: 2,
      });
      const leaseId = (decision as { leaseId: string }).leaseId;
      const leases: { customer_id: string; units: number; credits: number }[] =
        await fx.dataSource.query(
          `SELECT "customer_id", "units"::int AS "units", "credits"::int AS "credits"
           FROM "entitlement"."leases" WHERE "id" = $1`,
          [leaseId],
        );
      expect(leases).toEqual([{ customer_id: paid.customerId, units: 2, credits: 6 }]);
      expect(await available(paid.customerId)).toBe(4);

      // 2 more units cost 6: the balance of 4 does not cover them, and nothing is taken.
      const leasesBefore = await leaseCount();
      const short = await check(byCustomer(paid.customerId, 2));
      expect(short).toEqual({
        allowed: false,
        customerId: paid.customerId,
        denial: {
          code: 'insufficient-credits',
          plan: v1.key,
          feature: 'requests',
          balance: 4,
          required: 6,
        },
      });
      expect(await available(paid.customerId)).toBe(4);
      expect(await leaseCount()).toBe(leasesBefore);

      // A boolean feature of the plan costs nothing.
      expect(await check(byCustomer(paid.customerId, 1, 'export'))).toMatchObject({
        allowed: true,
        customerId: paid.customerId,
      });
      expect(await fx.ledger.findDrift()).toEqual([]);
    });

    it('refuses a blocked payer with customer-blocked, and an unknown customer id as unauthenticated', async () => {
      const plan = await payerPlan(1);
      const paid = await record(paymentOf(plan.key, newPayer(), { credits: 10 }));
      expect(await check(byCustomer(paid.customerId, 1))).toMatchObject({ allowed: true });
      await fx.customers.update(paid.customerId, { blocked: true });
      const leasesBefore = await leaseCount();

      expect(await check(byCustomer(paid.customerId, 1))).toEqual({
        allowed: false,
        customerId: paid.customerId,
        denial: { code: 'customer-blocked' },
      });
      expect(await check(byCustomer(randomUUID(), 1))).toEqual({
        allowed: false,
        denial: { code: 'unauthenticated' },
      });
      expect(await leaseCount()).toBe(leasesBefore);
      expect(await available(paid.customerId)).toBe(9);
    });
  });
});
