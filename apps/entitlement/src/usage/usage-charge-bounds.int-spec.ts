import type { UsageRecordedEvent } from '@paygate/contracts';
import { metricsRegistry } from '@paygate/observability';
import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { LEDGER_BOUND } from './usage-charge.use-case';

const MAX = Number.MAX_SAFE_INTEGER;

/** Numbers that fit: usage debits (units × unit price) are exact past 2^53, and never throw. */
describe('UsageChargeUseCase past 2^53 (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  afterAll(() => fx.close());

  const recorded = (customerId: string, quantity: number) =>
    ({
      id: randomUUID(),
      customerId,
      meterKey: 'api_requests',
      quantity,
      leased: [],
      firstEventAt: new Date().toISOString(),
      lastEventAt: new Date().toISOString(),
      recordedAt: new Date().toISOString(),
    }) satisfies UsageRecordedEvent;

  const cappedCount = async (): Promise<number> => {
    const metric = await metricsRegistry
      .getSingleMetric('paygate_usage_debits_capped_total')!
      .get();
    return metric.values.reduce((sum, v) => sum + v.value, 0);
  };

  const grantsRemaining = async (customerId: string): Promise<string> => {
    const [row]: { remaining: string }[] = await fx.dataSource.query(
      `SELECT COALESCE(SUM("remaining"), 0)::text AS "remaining" FROM "entitlement"."grants"
       WHERE "customer_id" = $1`,
      [customerId],
    );
    return row.remaining;
  };

  it('debits units × price exactly past 2^53 − 1 (a JS number would round it)', async () => {
    const tenant = await fx.seedTenant({ credits: 10, feature: { unitPrice: 3 } });
    const before = await cappedCount();
    expect(await fx.charge.execute(recorded(tenant.customerId, MAX))).toBe('applied');

    const debit = 3n * BigInt(MAX); // 27021597764222973: odd, not a double
    expect(Number(debit).toString()).not.toBe(debit.toString());
    const [entry] = await fx.ledger.history(tenant.customerId, 1);
    expect(entry).toMatchObject({ type: 'debit', amount: (-debit).toString() });
    expect(await fx.ledger.exactBalance(tenant.customerId)).toMatchObject({
      available: (10n - debit).toString(),
    });
    expect(await grantsRemaining(tenant.customerId)).toBe('0');
    expect(await fx.ledger.findDrift()).toEqual([]);
    expect(await cappedCount()).toBe(before);
  });

  it('past the ledger bound (bigint) records what fits, counts the rest, and never throws', async () => {
    const tenant = await fx.seedTenant({ credits: 10, feature: { unitPrice: MAX } });
    const before = await cappedCount();
    // MAX × MAX ≈ 8.1e31 credits: far past what a ledger entry (bigint) can hold.
    expect(await fx.charge.execute(recorded(tenant.customerId, MAX))).toBe('applied');
    expect(await fx.ledger.exactBalance(tenant.customerId)).toMatchObject({
      available: (10n - LEDGER_BOUND).toString(),
    });
    // The next one only has room for 10 more; after that, none: the balance stays at −bound.
    expect(await fx.charge.execute(recorded(tenant.customerId, MAX))).toBe('applied');
    expect(await fx.charge.execute(recorded(tenant.customerId, MAX))).toBe('applied');
    expect(await fx.ledger.exactBalance(tenant.customerId)).toMatchObject({
      available: (-LEDGER_BOUND).toString(),
    });

    const entries = await fx.ledger.history(tenant.customerId, 10);
    // Newest first: the 10 that still fitted, then the bound itself (exact, as a string).
    expect(entries.filter((e) => e.type === 'debit').map((e) => e.amount)).toEqual([
      -10,
      (-LEDGER_BOUND).toString(),
    ]);
    const notCharged = BigInt(MAX) * BigInt(MAX) - LEDGER_BOUND;
    expect(entries.find((e) => e.amount === (-LEDGER_BOUND).toString())?.description).toBe(
      `${MAX} api_requests units (${notCharged} credits past the ledger bound not charged)`,
    );
    expect(await cappedCount()).toBe(before + 3);
    expect(await grantsRemaining(tenant.customerId)).toBe('0');
    expect(await fx.ledger.findDrift()).toEqual([]);
    // The units all count against the period, whatever could be charged.
    const [usage]: { used: string }[] = await fx.dataSource.query(
      `SELECT "used"::text FROM "entitlement"."feature_usage" WHERE "subscription_id" = $1`,
      [tenant.subscriptionId],
    );
    expect(usage.used).toBe((3n * BigInt(MAX)).toString());
  });
});
