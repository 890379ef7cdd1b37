import { metricsRegistry } from '@paygate/observability';
import { randomUUID } from 'node:crypto';
import { MAX_BALANCE } from '../credits/ledger.service';
import { EntitlementFixture } from '@test/entitlement.fixture';

/** Numbers that fit: a provider purchase past the balance bound is acknowledged, not retried. */
describe('PaymentEventsUseCase past the balance bound (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  afterAll(() => fx.close());

  const outcomes = async (outcome: string): Promise<number> => {
    const metric = await metricsRegistry.getSingleMetric('paygate_payment_events_total')!.get();
    return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  };

  const purchase = (customerId: string, credits: number, id = `evt_${randomUUID()}`) => ({
    provider: 'stripe',
    id,
    event: { kind: 'credits-purchased' as const, customerId, credits },
  });

  const grantsOf = async (customerId: string) =>
    (
      await fx.dataSource.query(
        `SELECT "amount"::text, "status" FROM "entitlement"."grants" WHERE "customer_id" = $1 ORDER BY "created_at"`,
        [customerId],
      )
    ).map((g: { amount: string; status: string }) => `${g.amount}:${g.status}`);

  it('acknowledges, records nothing, and counts it; a replay is a duplicate; what fits applies', async () => {
    const tenant = await fx.seedTenant({ credits: MAX_BALANCE - 5 });
    const overBefore = await outcomes('over-bound');
    const appliedBefore = await outcomes('applied');

    const over = purchase(tenant.customerId, 10);
    expect(await fx.services.payments.execute(over)).toBe('over-bound');
    expect(await fx.ledger.exactBalance(tenant.customerId)).toMatchObject({
      available: MAX_BALANCE - 5,
    });
    // No grant, not even a pending one, and no ledger entry for it.
    expect(await grantsOf(tenant.customerId)).toEqual([`${MAX_BALANCE - 5}:active`]);
    expect((await fx.ledger.history(tenant.customerId, 10)).map((e) => e.type)).toEqual(['grant']);
    expect(await outcomes('over-bound')).toBe(overBefore + 1);

    // The provider's retry of the same event is acknowledged as a duplicate, still nothing.
    expect(await fx.services.payments.execute(over)).toBe('duplicate');
    expect(await grantsOf(tenant.customerId)).toHaveLength(1);

    // A purchase that fits still applies, up to the bound exactly.
    expect(await fx.services.payments.execute(purchase(tenant.customerId, 5))).toBe('applied');
    expect(await fx.ledger.exactBalance(tenant.customerId)).toMatchObject({
      available: MAX_BALANCE,
    });
    expect(await outcomes('applied')).toBe(appliedBefore + 1);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('still throws what a retry can fix (an unknown plan), so the provider delivers it again', async () => {
    await expect(
      fx.services.payments.execute({
        provider: 'stripe',
        id: `evt_${randomUUID()}`,
        event: {
          kind: 'plan-changed',
          subscriptionId: randomUUID(),
          planKey: 'no-such-plan',
          order: [1],
        },
      }),
    ).rejects.toMatchObject({ code: 'not-found' });
  });

  it('credits a purchase once, however many of its events report it paid', async () => {
    const tenant = await fx.seedTenant({});
    const paid = (eventId: string) => ({
      provider: 'stripe',
      id: eventId,
      event: {
        kind: 'credits-purchased' as const,
        customerId: tenant.customerId,
        credits: 40,
        purchaseId: 'cs_test_once',
      },
    });
    // checkout.session.completed (paid) and, for the same session, async_payment_succeeded.
    expect(await fx.services.payments.execute(paid(`evt_${randomUUID()}`))).toBe('applied');
    expect(await fx.services.payments.execute(paid(`evt_${randomUUID()}`))).toBe('applied');
    expect(await grantsOf(tenant.customerId)).toEqual(['40:active']);
    expect(await fx.ledger.exactBalance(tenant.customerId)).toMatchObject({ available: 40 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });
});
