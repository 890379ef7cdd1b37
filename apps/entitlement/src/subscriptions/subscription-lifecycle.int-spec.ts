import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { requestsFeature } from '../plans/demo-plan';
import type { PlanFeatureDto } from '../plans/plan.dto';
import type { CreateSubscriptionDto } from './subscription.dto';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

/**
 * A customer with an API key on a plan of one `requests` feature, subscribed as `subscription`
 * says (seedTenant takes no period of the subscription's own).
 */
async function subscribeWith(
  fx: EntitlementFixture,
  feature: Partial<PlanFeatureDto>,
  subscription: Omit<CreateSubscriptionDto, 'planId'>,
): Promise<{ customerId: string; apiKey: string }> {
  const plan = await fx.plans.create({
    key: `plan-${randomUUID().slice(0, 8)}`,
    name: 'Test plan',
    features: [requestsFeature(feature)],
  });
  const customer = await fx.customers.create({ name: 'Test customer' });
  await fx.subscriptions.create(customer.id, { planId: plan.id, ...subscription });
  const key = await fx.apiKeys.create(customer.id, {});
  return { customerId: customer.id, apiKey: key.key };
}

describe('subscription lifecycle (real Postgres, injectable clock)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const check = (apiKey: string, feature = 'requests') =>
    fx.check.execute(fx.checkInput(apiKey, 1, feature));
  const subscribe = (
    feature: Partial<PlanFeatureDto>,
    subscription: Omit<CreateSubscriptionDto, 'planId'>,
  ) => subscribeWith(fx, feature, subscription);

  it('rolls the period when it ends, and the included units start again', async () => {
    const tenant = await fx.seedTenant({ feature: { includedUnits: 2, limitPolicy: 'block' } });
    const before = await fx.lifecycle.current(tenant.customerId);
    for (const expected of [true, true, false])
      expect((await check(tenant.apiKey)).allowed).toBe(expected);

    fx.clock.advance(32 * DAY);
    expect((await check(tenant.apiKey)).allowed).toBe(true);
    const after = await fx.lifecycle.current(tenant.customerId);
    expect(after?.periodStart).toEqual(before?.periodEnd);
    expect(after!.periodEnd > fx.clock.now()).toBe(true);
    expect(after?.status).toBe('active');
  });

  it('rolls once when many readers see the ended period at the same time', async () => {
    const tenant = await fx.seedTenant({ feature: { includedUnits: 100, limitPolicy: 'block' } });
    fx.clock.advance(65 * DAY);
    const seen = await Promise.all(
      Array.from({ length: 10 }, () => fx.lifecycle.current(tenant.customerId)),
    );
    expect(new Set(seen.map((s) => s?.periodStart.toISOString())).size).toBe(1);
    expect(seen[0]!.periodStart <= fx.clock.now() && fx.clock.now() < seen[0]!.periodEnd).toBe(
      true,
    );
  });

  it('keeps a past-due customer in with a warning until the grace period ends, then 402s', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    await fx.subscriptions.update(tenant.subscriptionId, {
      status: 'past_due',
      gracePeriodSeconds: 3600,
    });
    const graceEnds = new Date(fx.clock.now().getTime() + HOUR);

    const during = await check(tenant.apiKey);
    expect(during).toMatchObject({
      allowed: true,
      warnings: [{ code: 'subscription-past-due', until: graceEnds }],
    });

    fx.clock.advance(HOUR);
    expect(await check(tenant.apiKey)).toMatchObject({
      allowed: false,
      denial: { code: 'subscription-past-due', plan: tenant.planKey },
    });

    await fx.subscriptions.update(tenant.subscriptionId, { status: 'active' });
    expect(await check(tenant.apiKey)).toMatchObject({ allowed: true });
    expect((await check(tenant.apiKey)) as { warnings?: unknown }).not.toHaveProperty('warnings');
  });

  it('cancels at the end of the period when scheduled', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    await fx.subscriptions.update(tenant.subscriptionId, { cancelAtPeriodEnd: true });
    fx.clock.advance(20 * DAY);
    expect((await check(tenant.apiKey)).allowed).toBe(true);
    fx.clock.advance(15 * DAY);
    expect(await check(tenant.apiKey)).toMatchObject({
      allowed: false,
      denial: { code: 'subscription-expired' },
    });
    expect((await fx.lifecycle.current(tenant.customerId))?.status).toBe('canceled');
  });

  it('applies a downgrade at the period end and an upgrade at once', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    const other = await fx.plans.create({
      key: `other-${randomUUID().slice(0, 8)}`,
      name: 'Other',
      features: [{ key: 'requests', kind: 'metered', meterKey: 'api_requests', includedUnits: 5 }],
    });
    await fx.subscriptions.update(tenant.subscriptionId, {
      planId: other.id,
      planChange: 'period_end',
    });
    expect((await fx.lifecycle.current(tenant.customerId))?.planKey).toBe(tenant.planKey);
    fx.clock.advance(32 * DAY);
    expect((await fx.lifecycle.current(tenant.customerId))?.planKey).toBe(other.key);

    await fx.subscriptions.update(tenant.subscriptionId, {
      planId: (await fx.plans.list()).find((p) => p.key === tenant.planKey)!.id,
      planChange: 'now',
    });
    expect((await fx.lifecycle.current(tenant.customerId))?.planKey).toBe(tenant.planKey);
  });

  it('starts the billing counter again after a first period of its own length', async () => {
    fx.clock.set(new Date('2026-01-01T00:00:00Z'));
    const ownEnd = new Date('2026-01-10T00:00:00Z');
    const tenant = await subscribe(
      { includedUnits: 1, limitPolicy: 'block' },
      { currentPeriodEnd: ownEnd.toISOString() },
    );
    expect((await check(tenant.apiKey)).allowed).toBe(true);
    expect((await check(tenant.apiKey)).allowed).toBe(false);

    fx.clock.set(ownEnd);
    expect((await check(tenant.apiKey)).allowed).toBe(true);
    expect(await fx.lifecycle.current(tenant.customerId)).toMatchObject({
      periodStart: ownEnd,
      periodEnd: new Date('2026-02-01T00:00:00Z'),
    });
    fx.clock.set(new Date('2026-02-01T00:00:00Z'));
    expect((await check(tenant.apiKey)).allowed).toBe(true);
    expect((await fx.lifecycle.current(tenant.customerId))?.periodEnd).toEqual(
      new Date('2026-03-01T00:00:00Z'),
    );
  });

  it('turns a trial into an active subscription when the trial ends', async () => {
    const tenant = await fx.seedTenant({ status: 'trialing', credits: 1 });
    fx.clock.advance(31 * DAY);
    expect((await fx.lifecycle.current(tenant.customerId))?.status).toBe('active');
  });
});

describe('feature usage periods and soft limits (real Postgres, injectable clock)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const check = (apiKey: string) => fx.check.execute(fx.checkInput(apiKey));
  const subscribe = (
    feature: Partial<PlanFeatureDto>,
    subscription: Omit<CreateSubscriptionDto, 'planId'>,
  ) => subscribeWith(fx, feature, subscription);

  it('counts included units per day when the feature says so', async () => {
    const tenant = await fx.seedTenant({
      feature: { includedUnits: 1, limitPolicy: 'block', usagePeriod: 'day' },
    });
    expect((await check(tenant.apiKey)).allowed).toBe(true);
    expect(await fx.services.periodUsage.current(tenant.customerId)).toMatchObject({
      plan: tenant.planKey,
      features: [{ feature: 'requests', usagePeriod: 'day', included: 1, used: 1 }],
    });
    const refused = await check(tenant.apiKey);
    expect(refused).toMatchObject({
      allowed: false,
      denial: { code: 'quota-exhausted', limit: 1, used: 1 },
    });
    const resetsAt = !refused.allowed ? refused.denial.resetsAt! : new Date(0);
    expect(resetsAt.getTime() - fx.clock.now().getTime()).toBeLessThanOrEqual(DAY);
    fx.clock.set(resetsAt);
    expect((await check(tenant.apiKey)).allowed).toBe(true);
  });

  it('resets a daily quota every trial day, apart from the first paid day', async () => {
    // The trial ends at 00:00, its billing anchor: its days run from midnight to midnight.
    fx.clock.set(new Date('2026-02-01T09:00:00Z'));
    const trialEnd = new Date('2026-02-15T00:00:00Z');
    const tenant = await subscribe(
      { includedUnits: 1, limitPolicy: 'block', usagePeriod: 'day' },
      { status: 'trialing', currentPeriodEnd: trialEnd.toISOString() },
    );
    expect((await check(tenant.apiKey)).allowed).toBe(true);
    expect(await check(tenant.apiKey)).toMatchObject({
      allowed: false,
      denial: { code: 'quota-exhausted', resetsAt: new Date('2026-02-02T00:00:00Z') },
    });
    fx.clock.set(new Date('2026-02-02T00:00:00Z'));
    expect((await check(tenant.apiKey)).allowed).toBe(true);

    fx.clock.set(new Date('2026-02-14T23:59:59Z'));
    expect((await check(tenant.apiKey)).allowed).toBe(true);
    expect((await check(tenant.apiKey)).allowed).toBe(false);
    fx.clock.set(trialEnd);
    expect((await check(tenant.apiKey)).allowed).toBe(true);
    expect(await fx.lifecycle.current(tenant.customerId)).toMatchObject({
      status: 'active',
      periodStart: trialEnd,
    });
  });

  it('never resets included units of a lifetime (none) allowance', async () => {
    const tenant = await fx.seedTenant({
      feature: { includedUnits: 1, limitPolicy: 'block', usagePeriod: 'none' },
    });
    expect((await check(tenant.apiKey)).allowed).toBe(true);
    fx.clock.advance(400 * DAY);
    expect(await check(tenant.apiKey)).toMatchObject({
      allowed: false,
      denial: { code: 'quota-exhausted' },
    });
  });

  it('warns once the soft-limit share of the included units is used', async () => {
    const tenant = await fx.seedTenant({
      feature: { includedUnits: 5, limitPolicy: 'block', softLimitPercent: 80 },
    });
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push(await check(tenant.apiKey));
    expect(decisions.map((d) => (d.allowed ? (d.warnings?.[0]?.code ?? null) : 'refused'))).toEqual(
      [null, null, null, 'soft-limit-reached', 'soft-limit-reached'],
    );
    expect(decisions[3]).toMatchObject({ warnings: [{ used: 4, limit: 5 }] });
  });
});
