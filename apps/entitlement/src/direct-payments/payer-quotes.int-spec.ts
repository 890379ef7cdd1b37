import { randomUUID } from 'node:crypto';
import type { CheckInput } from '../decisions/decision';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { payerAccountHelpers } from '@test/payer-accounts';

/**
 * Anonymous pay-per-call, before a payment: the price of a call for a payer without an API
 * key (payer-accounts.int-spec.ts has the payments and the checks after them).
 */
describe('Payer accounts: quotes (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(25);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const { record, check, payerPlan, newPayer, paymentOf, available, count, leaseCount } =
    payerAccountHelpers(() => fx);

  describe('quotes (no key, no customer: the payer plan prices the call)', () => {
    const quote = (plan: string, cost: number, feature = 'requests'): CheckInput => ({
      ...fx.checkInput('', cost, feature),
      payerPlan: plan,
    });

    it('asks for cost × unit price of the newest plan version, reserving nothing', async () => {
      const v1 = await payerPlan(2);
      const leasesBefore = await leaseCount();
      const customersBefore = await count(`"entitlement"."customers"`);

      expect(await check(quote(v1.key, 4))).toEqual({
        allowed: false,
        denial: {
          code: 'payment-required',
          plan: v1.key,
          feature: 'requests',
          balance: 0,
          required: 8,
        },
      });
      await payerPlan(5, {}, v1.key);
      expect(await check(quote(v1.key, 4))).toEqual({
        allowed: false,
        denial: {
          code: 'payment-required',
          plan: v1.key,
          feature: 'requests',
          balance: 0,
          required: 20,
        },
      });

      expect(await leaseCount()).toBe(leasesBefore);
      // Two plan versions, but no customer was made for anyone.
      expect(await count(`"entitlement"."customers"`)).toBe(customersBefore);
    });

    it('asks for nothing on a feature whose limit policy is not credits', async () => {
      const plan = await payerPlan(7, { limitPolicy: 'overage' });
      const decision = await check(quote(plan.key, 3));
      expect(decision).toEqual({
        allowed: false,
        denial: {
          code: 'payment-required',
          plan: plan.key,
          feature: 'requests',
          balance: 0,
          required: 0,
        },
      });
    });

    it('answers feature-not-in-plan for an unknown plan or feature, reserving nothing', async () => {
      const plan = await payerPlan(2);
      const unknown = `nope-${randomUUID().slice(0, 8)}`;
      const leasesBefore = await leaseCount();

      expect(await check(quote(unknown, 1))).toEqual({
        allowed: false,
        denial: { code: 'feature-not-in-plan', plan: unknown, feature: 'requests' },
      });
      expect(await check(quote(plan.key, 1, 'missing'))).toEqual({
        allowed: false,
        denial: { code: 'feature-not-in-plan', plan: plan.key, feature: 'missing' },
      });
      expect(await leaseCount()).toBe(leasesBefore);
    });

    it('quotes even a payer that already has an account: nothing of it is read or reserved', async () => {
      const plan = await payerPlan(3);
      const paid = await record(paymentOf(plan.key, newPayer(), { credits: 10 }));
      const leasesBefore = await leaseCount();

      expect(await check(quote(plan.key, 2))).toEqual({
        allowed: false,
        denial: {
          code: 'payment-required',
          plan: plan.key,
          feature: 'requests',
          balance: 0,
          required: 6,
        },
      });
      expect(await leaseCount()).toBe(leasesBefore);
      expect(await available(paid.customerId)).toBe(10);
    });
  });

  describe('quotes for a verified payer (payerAccount): its own customer decides', () => {
    it('prices by its own plan version, refuses a blocked one, and falls back to the plan for a new payer', async () => {
      const v1 = await payerPlan(2);
      const payer = newPayer();
      const account = `paygate:test:${payer}`;
      const first = await record(paymentOf(v1.key, payer, { credits: 1 }));
      await payerPlan(7, {}, v1.key); // a newer version: the payer stays on v1
      const quote = (payerAccount: string) =>
        check({
          apiKey: '',
          payerPlan: v1.key,
          payerAccount,
          feature: 'requests',
          cost: 3,
          requestId: `q-${randomUUID()}`,
          requiredScopes: [],
        });
      const leasesBefore = await leaseCount();
      expect(await quote(account)).toMatchObject({
        allowed: false,
        customerId: first.customerId,
        denial: { code: 'payment-required', required: 6, balance: 0 },
      });
      expect(await quote(`paygate:test:${newPayer()}`)).toMatchObject({
        allowed: false,
        denial: { code: 'payment-required', required: 21 },
      });
      await fx.customers.update(first.customerId, { blocked: true });
      expect(await quote(account)).toMatchObject({
        allowed: false,
        customerId: first.customerId,
        denial: { code: 'customer-blocked' },
      });
      expect(await leaseCount()).toBe(leasesBefore);
    });
  });
});
