import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { GrantSweeper } from './grant-sweeper';

const DAY = 24 * 3600 * 1000;

describe('credit grants (real Postgres, injectable clock)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const inDays = (days: number) => new Date(fx.clock.now().getTime() + days * DAY).toISOString();
  const remaining = async (customerId: string) =>
    Object.fromEntries(
      (await fx.credits.listGrants(customerId)).map((g) => [g.description, g.remaining]),
    );
  const spend = (apiKey: string, cost: number) => fx.check.execute(fx.checkInput(apiKey, cost));

  it('burns by priority, then earliest expiry, then oldest', async () => {
    const tenant = await fx.seedTenant({});
    const grant = (description: string, extra: object) =>
      fx.credits.grant(tenant.customerId, { amount: 5, description, ...extra });
    await grant('later-no-expiry', {});
    await grant('expires-in-10d', { expiresAt: inDays(10) });
    await grant('expires-in-5d', { expiresAt: inDays(5) });
    await grant('top-priority', { priority: 10 });

    expect((await spend(tenant.apiKey, 12)).allowed).toBe(true);
    expect(await remaining(tenant.customerId)).toEqual({
      'top-priority': 0,
      'expires-in-5d': 0,
      'expires-in-10d': 3,
      'later-no-expiry': 5,
    });
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(8);
  });

  it('makes a future grant spendable at its effective date, not before', async () => {
    const tenant = await fx.seedTenant({});
    const { grant } = await fx.credits.grant(tenant.customerId, {
      amount: 3,
      effectiveAt: inDays(1),
    });
    expect(grant).toMatchObject({ status: 'pending', remaining: 0 });
    expect(await spend(tenant.apiKey, 1)).toMatchObject({
      allowed: false,
      denial: { code: 'insufficient-credits' },
    });
    fx.clock.advance(DAY);
    expect((await spend(tenant.apiKey, 1)).allowed).toBe(true);
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(2);
  });

  it('expires what is left of a grant as a ledger entry', async () => {
    const tenant = await fx.seedTenant({});
    await fx.credits.grant(tenant.customerId, { amount: 5, expiresAt: inDays(1) });
    expect((await spend(tenant.apiKey, 2)).allowed).toBe(true);
    fx.clock.advance(2 * DAY);
    expect((await fx.credits.balance(tenant.customerId)).available).toBe(0);
    const { entries } = await fx.credits.history(tenant.customerId, 10);
    expect(entries[0]).toMatchObject({ type: 'expire', amount: -3 });
    expect(await spend(tenant.apiKey, 1)).toMatchObject({ allowed: false });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('gives released credits back to their grant, or expires them if it expired meanwhile', async () => {
    const tenant = await fx.seedTenant({});
    await fx.credits.grant(tenant.customerId, {
      amount: 4,
      expiresAt: inDays(1),
      description: 'short',
    });
    const first = await spend(tenant.apiKey, 2);
    const second = await spend(tenant.apiKey, 2);
    const release = (d: typeof first) =>
      fx.dataSource.transaction((m) =>
        fx.settlement.release(m, d.allowed ? d.leaseId! : '', 'test'),
      );

    await release(first);
    expect(await remaining(tenant.customerId)).toEqual({ short: 2 });
    fx.clock.advance(2 * DAY);
    await release(second);
    expect((await fx.credits.balance(tenant.customerId)).available).toBe(0);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('lets the next grant pay off usage that overdrew the balance', async () => {
    const tenant = await fx.seedTenant({ credits: 1 });
    await fx.charge.execute({
      id: randomUUID(),
      customerId: tenant.customerId,
      meterKey: 'api_requests',
      quantity: 4,
      leased: [],
      firstEventAt: fx.clock.now().toISOString(),
      lastEventAt: fx.clock.now().toISOString(),
      recordedAt: fx.clock.now().toISOString(),
    });
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(-3);
    const { grant } = await fx.credits.grant(tenant.customerId, { amount: 5 });
    expect(grant.remaining).toBe(2);
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(2);
  });

  it('reaches the ledger through the sweep for customers nobody looks at', async () => {
    const tenant = await fx.seedTenant({});
    await fx.credits.grant(tenant.customerId, { amount: 5, expiresAt: inDays(1) });
    fx.clock.advance(2 * DAY);
    const sweeper = new GrantSweeper(fx.dataSource, fx.services.grants, fx.clock);
    expect(await sweeper.sweep()).toBeGreaterThanOrEqual(1);
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(0);
  });

  it('refuses an expiry before the grant takes effect', async () => {
    const tenant = await fx.seedTenant({});
    await expect(
      fx.credits.grant(tenant.customerId, {
        amount: 1,
        effectiveAt: inDays(2),
        expiresAt: inDays(1),
      }),
    ).rejects.toMatchObject({ code: 'validation-failed' });
  });
});
