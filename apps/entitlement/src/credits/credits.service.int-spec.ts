import { DomainError } from '@paygate/problem-details';
import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';

describe('CreditsService (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  afterAll(() => fx.close());

  it('applies a grant once per idempotency key and refuses the key for another body', async () => {
    const tenant = await fx.seedTenant({});
    const key = randomUUID();
    const first = await fx.credits.grant(tenant.customerId, { amount: 7 }, key);
    const replay = await fx.credits.grant(tenant.customerId, { amount: 7 }, key);
    expect(first.replayed).toBe(false);
    expect(replay).toEqual({ grant: first.grant, replayed: true });
    await expect(fx.credits.grant(tenant.customerId, { amount: 8 }, key)).rejects.toThrow(
      DomainError,
    );
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(7);
  });

  it('applies concurrent replays of one grant exactly once', async () => {
    const tenant = await fx.seedTenant({});
    const key = randomUUID();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => fx.credits.grant(tenant.customerId, { amount: 5 }, key)),
    );
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(5);
  });

  it('pages the ledger newest first', async () => {
    const tenant = await fx.seedTenant({});
    for (const amount of [1, 2, 3]) await fx.credits.grant(tenant.customerId, { amount });
    const page1 = await fx.credits.history(tenant.customerId, 2);
    expect(page1.entries.map((e) => e.amount)).toEqual([3, 2]);
    const page2 = await fx.credits.history(tenant.customerId, 2, page1.next);
    expect(page2.entries.map((e) => e.amount)).toEqual([1]);
    expect(page2.next).toBeUndefined();
  });

  it('answers 404-style domain errors for unknown customers', async () => {
    await expect(fx.credits.balance(randomUUID())).rejects.toMatchObject({ code: 'not-found' });
  });
});
