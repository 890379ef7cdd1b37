import { randomUUID } from 'node:crypto';
import { MAX_BALANCE } from '../credits/ledger.service';
import { EntitlementFixture } from '@test/entitlement.fixture';

const MAX = BigInt(MAX_BALANCE);

/**
 * Numbers that fit (issue 14): a customer at the credit bound, 2^53 − 1, is admitted and then
 * refused with insufficient-credits; usage of 2^53 − 1 twice never makes a check throw (which
 * the gateway would answer with a 503).
 */
describe('CheckUseCase at 2^53 − 1 (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(10);
  });
  afterAll(() => fx.close());

  const usage = (customerId: string, quantity: number) =>
    fx.charge.execute({
      id: randomUUID(),
      customerId,
      meterKey: 'api_requests',
      quantity,
      leased: [],
      firstEventAt: new Date().toISOString(),
      lastEventAt: new Date().toISOString(),
      recordedAt: new Date().toISOString(),
    });

  it('admits a customer at the bound, then refuses with insufficient-credits', async () => {
    const price = 2 ** 52;
    const tenant = await fx.seedTenant({ credits: MAX_BALANCE, feature: { unitPrice: price } });
    const first = await fx.check.execute(fx.checkInput(tenant.apiKey));
    expect(first).toMatchObject({ allowed: true, leaseUnits: 1 });
    const second = await fx.check.execute(fx.checkInput(tenant.apiKey));
    expect(second).toMatchObject({
      allowed: false,
      denial: { code: 'insufficient-credits', balance: MAX_BALANCE - price, required: price },
    });
    expect(await fx.credits.balance(tenant.customerId)).toEqual({
      customerId: tenant.customerId,
      available: MAX_BALANCE - price,
      reserved: price,
    });
  });

  it('grants a lease of many units at the bound', async () => {
    const tenant = await fx.seedTenant({ credits: MAX_BALANCE });
    const decision = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 1000 });
    expect(decision).toMatchObject({ allowed: true, leaseUnits: 1000 });
    expect((await fx.credits.balance(tenant.customerId)).available).toBe(MAX_BALANCE - 1000);
  });

  it('keeps deciding after usage of 2^53 − 1 twice overdraws past the bound', async () => {
    const tenant = await fx.seedTenant({ credits: MAX_BALANCE });
    expect((await fx.check.execute(fx.checkInput(tenant.apiKey))).allowed).toBe(true);
    // Usage reported without a lease, 2^53 − 1 units at 1 credit, three times: the balance ends
    // at 1 − 2 × (2^53 − 1) (one credit reserved), the period's usage at 3 × (2^53 − 1) + 1.
    for (let i = 0; i < 3; i++) expect(await usage(tenant.customerId, MAX_BALANCE)).toBe('applied');
    const balance = await fx.credits.balance(tenant.customerId);
    expect(balance).toEqual({
      customerId: tenant.customerId,
      available: (MAX - 1n - 3n * MAX).toString(),
      reserved: 1,
    });
    const refused = await fx.check.execute(fx.checkInput(tenant.apiKey));
    expect(refused).toMatchObject({
      allowed: false,
      // The decision reads the balance saturated at the bound; the balance API answers exactly.
      denial: { code: 'insufficient-credits', balance: -MAX_BALANCE, required: 1 },
    });
    // A top-up within the bound is accepted; still overdrawn, still a 402, never a throw.
    await fx.credits.grant(tenant.customerId, { amount: MAX_BALANCE });
    expect((await fx.check.execute(fx.checkInput(tenant.apiKey))).allowed).toBe(false);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('keeps deciding for included units once the usage counter passes the bound', async () => {
    const tenant = await fx.seedTenant({
      feature: { includedUnits: MAX_BALANCE, limitPolicy: 'block' },
    });
    expect(await usage(tenant.customerId, MAX_BALANCE)).toBe('applied');
    expect(await usage(tenant.customerId, MAX_BALANCE)).toBe('applied');
    expect(await fx.check.execute(fx.checkInput(tenant.apiKey))).toMatchObject({
      allowed: false,
      denial: { code: 'quota-exhausted', limit: MAX_BALANCE, used: MAX_BALANCE },
    });
  });
});
