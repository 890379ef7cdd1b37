import type { PaymentAuthorization } from '@paygate/contracts';
import { EntitlementFixture } from '@test/entitlement.fixture';
import type { RecordPaymentInput } from './record-payment.input';
import {
  MINUTE,
  giveBack,
  grantRow,
  paymentRow,
  pgTime,
  refusedFields,
  spend,
  uptoPayment,
} from '@test/upto-payments.fixture';

/**
 * `upto` payments recorded as authorizations: credits spendable first and until the hold ends,
 * then gone, except those a lease gives back after it (the customer paid for them). Nothing
 * here claims settlements (payment-settlements.int-spec.ts does), so specs running at once
 * never take each other's authorizations.
 */
describe('upto authorizations (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(10);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const record = (input: RecordPaymentInput) => fx.services.recordPayment.execute(input);
  const available = async (customerId: string) => (await fx.credits.balance(customerId)).available;

  it('records an authorization: the row with its terms, a grant spent first and expiring with the hold', async () => {
    const tenant = await fx.seedTenant({});
    const payment = uptoPayment(fx, tenant.customerId, { credits: 10, amount: '12345' });
    const { authorization } = payment;

    const result = await record(payment);

    expect(result).toEqual({
      replayed: false,
      grantId: expect.any(String),
      balance: 10,
      customerId: tenant.customerId,
      authorizationOpen: false,
      claimed: false,
    });
    expect(await paymentRow(fx, payment.paymentId)).toEqual({
      customer_id: tenant.customerId,
      intent: 'upto',
      status: 'authorized',
      transaction: '',
      credits: '10',
      amount: '12345',
      grant_id: result.grantId,
      hold_until: await pgTime(fx, authorization.holdUntilMs),
      protocol: 'x402',
      credential: authorization.credential,
      requirement: authorization.requirement,
      amount_per_unit: '1000',
      amount_per_call: '500',
      credits_used: null,
      settle_amount: null,
      claimed_until: null,
      settled_at: null,
      failure: null,
    });
    const [grant] = await fx.credits.listGrants(tenant.customerId);
    expect(grant).toMatchObject({
      id: result.grantId,
      source: 'authorization',
      priority: 0,
      amount: 10,
      remaining: 10,
      status: 'active',
      expiresAt: new Date(authorization.holdUntilMs).toISOString(),
    });
  });

  it('leaves a payment without authorization a settled charge', async () => {
    const tenant = await fx.seedTenant({});
    const charge = { ...uptoPayment(fx, tenant.customerId), authorization: null };
    await record({ ...charge, transaction: 'tx-1' });
    expect(await paymentRow(fx, charge.paymentId)).toMatchObject({
      intent: 'charge',
      status: 'settled',
      hold_until: null,
      protocol: null,
    });
  });

  it("burns the authorization's credits before an older purchase", async () => {
    const tenant = await fx.seedTenant({ credits: 5 });
    const result = await record(uptoPayment(fx, tenant.customerId, { credits: 10 }));

    await spend(fx, tenant.apiKey, 3);

    const grants = await fx.credits.listGrants(tenant.customerId);
    expect(grants.map((g) => [g.source, g.remaining])).toEqual([
      ['authorization', 7],
      ['manual', 5],
    ]);
    expect(grants[0].id).toBe(result.grantId);
    expect(await available(tenant.customerId)).toBe(12);
  });

  it('answers a replay as open within the hold only, and only to its customer', async () => {
    const tenant = await fx.seedTenant({});
    const other = await fx.seedTenant({});
    const payment = uptoPayment(fx, tenant.customerId, { credits: 4 });
    const first = await record(payment);

    expect(await record(payment)).toEqual({
      replayed: true,
      grantId: first.grantId,
      balance: 4,
      customerId: tenant.customerId,
      authorizationOpen: true,
      claimed: false,
    });
    // A credential replayed by another customer opens nothing for it.
    expect(await record({ ...payment, customerId: other.customerId })).toMatchObject({
      replayed: true,
      authorizationOpen: false,
      claimed: false,
    });

    fx.clock.advance(MINUTE - 1);
    expect(await record(payment)).toMatchObject({ authorizationOpen: true, balance: 4 });
    fx.clock.advance(1); // the hold ends: the credits expire
    expect(await record(payment)).toEqual({
      replayed: true,
      grantId: first.grantId,
      balance: 0,
      customerId: tenant.customerId,
      authorizationOpen: false,
      claimed: false,
    });
    expect(await grantRow(fx, first.grantId)).toMatchObject({
      status: 'expired',
      remaining: 0,
      expired: 4,
    });
  });

  it("gives a lease's credits back to the customer once the authorization ended; a purchase's expire", async () => {
    const tenant = await fx.seedTenant({});
    const payment = uptoPayment(fx, tenant.customerId, { credits: 10 });
    const { grantId } = await record(payment);
    // Spent after the authorization: 10 from it, then 4 from the purchase.
    const expiresAt = new Date(fx.clock.now().getTime() + MINUTE).toISOString();
    const purchase = await fx.credits.grant(tenant.customerId, {
      amount: 6,
      source: 'purchase',
      expiresAt,
    });
    const fromAuthorization = await spend(fx, tenant.apiKey, 3);
    const fromBoth = await spend(fx, tenant.apiKey, 11);
    expect(await available(tenant.customerId)).toBe(2);

    fx.clock.advance(MINUTE); // both grants end
    expect(await available(tenant.customerId)).toBe(0);
    expect(await grantRow(fx, grantId)).toMatchObject({ status: 'expired', expired: 0 });
    expect(await grantRow(fx, purchase.grant.id)).toMatchObject({ expired: 2 });

    await giveBack(fx, fromAuthorization);
    await giveBack(fx, fromBoth);

    // 3 + 7 of the authorization come back to stay; the purchase's 4 expire at once.
    expect(await available(tenant.customerId)).toBe(10);
    expect(await grantRow(fx, grantId)).toMatchObject({ status: 'expired', expired: 0 });
    expect(await grantRow(fx, purchase.grant.id)).toMatchObject({ remaining: 0, expired: 6 });
    const returned = (await fx.credits.listGrants(tenant.customerId)).filter(
      (g) => g.source === 'returned',
    );
    expect(returned.map((g) => [g.remaining, g.status, g.expiresAt])).toEqual([
      [3, 'active', null],
      [7, 'active', null],
    ]);
    const { entries } = await fx.credits.history(tenant.customerId, 50);
    expect(entries.reduce((sum, e) => sum + Number(e.amount), 0)).toBe(10);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('refuses bad authorization fields with validation-failed naming them, and stores nothing', async () => {
    const tenant = await fx.seedTenant({});
    const now = fx.clock.now().getTime();
    const cases: [string, Partial<PaymentAuthorization>, object?][] = [
      ['authorization.holdUntilMs', { holdUntilMs: now }],
      ['authorization.holdUntilMs', { holdUntilMs: now + 24 * 60 * MINUTE + 1 }],
      ['authorization.protocol', { protocol: 'lightning' }],
      ['authorization.credential', { credential: '' }],
      ['authorization.credential', { credential: 'c'.repeat(16_385) }],
      ['authorization.requirement', { requirement: 'not json' }],
      ['authorization.requirement', { requirement: `"${'r'.repeat(16_383)}"` }],
      ['authorization.amountPerUnit', { amountPerUnit: '1.5' }],
      ['authorization.amountPerCall', { amountPerCall: '-1' }],
      ['transaction', {}, { transaction: '0xsettled' }],
    ];
    for (const [field, terms, input] of cases) {
      const payment = uptoPayment(fx, tenant.customerId);
      const bad = { ...payment, ...input, authorization: { ...payment.authorization, ...terms } };
      expect(await refusedFields(record(bad))).toEqual([field]);
      expect(await paymentRow(fx, payment.paymentId)).toBeUndefined();
    }
    // At most 24 h ahead is fine.
    const longest = uptoPayment(fx, tenant.customerId, { holdMs: 24 * 60 * MINUTE });
    expect(await record(longest)).toMatchObject({ replayed: false });
    expect(await fx.credits.listGrants(tenant.customerId)).toHaveLength(1);
  });
});
