import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { tables } from '../database/schema';
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

  describe('credits a lease gives back while usage overdrew the balance', () => {
    // Usage without a lease (fail-open, or another service): no grant covers it.
    const useUnleased = (customerId: string, quantity: number) =>
      fx.charge.execute({
        id: randomUUID(),
        customerId,
        meterKey: 'api_requests',
        quantity,
        leased: [],
        firstEventAt: fx.clock.now().toISOString(),
        lastEventAt: fx.clock.now().toISOString(),
        recordedAt: fx.clock.now().toISOString(),
      });
    const release = (leaseId: string, units?: number, releaseId = '') =>
      fx.dataSource.transaction((m) => fx.settlement.release(m, leaseId, 'test', units, releaseId));
    const leaseOf = (d: Awaited<ReturnType<typeof spend>>) => (d.allowed ? d.leaseId! : '');
    const available = async (customerId: string) =>
      (await fx.credits.balance(customerId)).available;

    it('pay the overdraft off first, so the grant expires only what is left', async () => {
      const tenant = await fx.seedTenant({});
      await fx.credits.grant(tenant.customerId, {
        amount: 100,
        expiresAt: inDays(1),
        description: 'G',
      });
      const lease = leaseOf(await spend(tenant.apiKey, 100));
      expect(lease).not.toBe('');
      await useUnleased(tenant.customerId, 30);
      expect(await available(tenant.customerId)).toBe(-30);

      await release(lease, undefined, 'once');
      expect(await available(tenant.customerId)).toBe(70);
      expect(await remaining(tenant.customerId)).toEqual({ G: 70 });
      // A replayed release gives nothing back, and nets nothing, again.
      await release(lease, undefined, 'once');
      expect(await available(tenant.customerId)).toBe(70);
      expect(await remaining(tenant.customerId)).toEqual({ G: 70 });

      fx.clock.advance(2 * DAY);
      expect(await available(tenant.customerId)).toBe(0);
      const { entries } = await fx.credits.history(tenant.customerId, 10);
      expect(entries[0]).toMatchObject({ type: 'expire', amount: -70 });
      expect(await fx.ledger.findDrift()).toEqual([]);
    });

    it('pay off what they can, in steps, and the next grant the rest', async () => {
      const tenant = await fx.seedTenant({});
      await fx.credits.grant(tenant.customerId, {
        amount: 50,
        expiresAt: inDays(1),
        description: 'G',
      });
      const lease = leaseOf(await spend(tenant.apiKey, 50));
      await useUnleased(tenant.customerId, 30);

      await release(lease, 20);
      expect(await available(tenant.customerId)).toBe(-10);
      expect(await remaining(tenant.customerId)).toEqual({ G: 0 });
      await release(lease, 20);
      expect(await available(tenant.customerId)).toBe(10);
      expect(await remaining(tenant.customerId)).toEqual({ G: 10 });

      await useUnleased(tenant.customerId, 25);
      expect(await available(tenant.customerId)).toBe(-15);
      const { grant } = await fx.credits.grant(tenant.customerId, { amount: 20, description: 'H' });
      expect(grant.remaining).toBe(5);
      await release(lease);
      expect(await available(tenant.customerId)).toBe(15);
      expect(await remaining(tenant.customerId)).toEqual({ G: 10, H: 5 });

      fx.clock.advance(2 * DAY);
      expect(await available(tenant.customerId)).toBe(5);
      expect(await fx.ledger.findDrift()).toEqual([]);
    });

    it('pay it off from a grant of their own when no grant record takes them', async () => {
      const tenant = await fx.seedTenant({});
      await fx.credits.grant(tenant.customerId, { amount: 100, description: 'G' });
      const lease = leaseOf(await spend(tenant.apiKey, 100));
      await useUnleased(tenant.customerId, 30);
      // As a lease from before grants existed: nothing says which grant its credits came from.
      await fx.dataSource.query(
        `DELETE FROM ${tables.lease_grant_allocations} WHERE "lease_id" = $1`,
        [lease],
      );
      await fx.credits.grant(tenant.customerId, {
        amount: 50,
        effectiveAt: inDays(1),
        expiresAt: inDays(2),
        description: 'later',
      });

      await release(lease);
      expect(await available(tenant.customerId)).toBe(70);
      expect(await remaining(tenant.customerId)).toEqual({
        G: 0,
        'credits returned by a lease': 70,
        later: 0,
      });
      // The later grant owes nothing: all 50 of it expire unused.
      fx.clock.advance(DAY);
      expect(await available(tenant.customerId)).toBe(120);
      fx.clock.advance(DAY);
      expect(await available(tenant.customerId)).toBe(70);
      expect(await fx.ledger.findDrift()).toEqual([]);
    });
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
