import { testConfig } from '@paygate/testing';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { recordedUsage as recorded } from '@test/usage-recorded';
import { AlertSettings } from '../alerts/alert-settings';
import { createEntitlementServices } from '../entitlement.services';

/**
 * Usage that services report without a lease raises the operator's threshold alerts as an
 * admission does: shares of the included units, and a low balance, queued with the charge.
 */
describe('alerts raised by usage reported without a lease (real Postgres)', () => {
  let fx: EntitlementFixture;
  let alerting: ReturnType<typeof createEntitlementServices>;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
    alerting = createEntitlementServices(
      fx.dataSource,
      fx.clock,
      new AlertSettings('http://127.0.0.1:9/alerts', 'secret', [50, 100], 5),
      testConfig().topics,
    );
  });
  afterAll(() => fx.close());

  /** The alerts queued for the customer, in no particular order (sorted by type and share). */
  const alertsOf = async (customerId: string) => {
    const rows: { payload: Record<string, unknown> }[] = await fx.dataSource.query(
      `SELECT "payload" FROM "entitlement"."webhook_deliveries" WHERE "payload"->>'customerId' = $1`,
      [customerId],
    );
    return rows
      .map((r) => r.payload)
      .sort((a, b) =>
        `${a.type as string}${String(a.percent)}`.localeCompare(
          `${b.type as string}${String(b.percent)}`,
        ),
      );
  };

  it('raises each share of the included units the usage crosses, once, and none on a replay', async () => {
    const tenant = await fx.seedTenant({
      feature: { includedUnits: 10, limitPolicy: 'overage' },
    });
    expect(await alerting.charge.execute(recorded(tenant.customerId, 4))).toBe('applied');
    expect(await alertsOf(tenant.customerId)).toEqual([]);
    // 4 → 12 of 10 crosses 50 % and 100 % in one message.
    const crossing = recorded(tenant.customerId, 8);
    expect(await alerting.charge.execute(crossing)).toBe('applied');
    const alerts = await alertsOf(tenant.customerId);
    expect(alerts).toEqual([
      expect.objectContaining({ type: 'usage.threshold', percent: 100, used: 12, limit: 10 }),
      expect.objectContaining({ type: 'usage.threshold', percent: 50, used: 12, limit: 10 }),
    ]);
    expect(alerts[0]).toMatchObject({ feature: 'requests', customerId: tenant.customerId });
    expect(await alerting.charge.execute(crossing)).toBe('duplicate');
    expect(await alerting.charge.execute(recorded(tenant.customerId, 3))).toBe('applied');
    expect(await alertsOf(tenant.customerId)).toHaveLength(2);
  });

  it('raises a low balance when a debit takes the credits to the threshold, and not again below it', async () => {
    const tenant = await fx.seedTenant({ credits: 10, feature: { unitPrice: 2 } });
    // 10 → 6: above the threshold of 5.
    await alerting.charge.execute(recorded(tenant.customerId, 2));
    expect(await alertsOf(tenant.customerId)).toEqual([]);
    // 6 → 4.
    const low = recorded(tenant.customerId, 1);
    await alerting.charge.execute(low);
    expect(await alertsOf(tenant.customerId)).toEqual([
      { type: 'balance.low', customerId: tenant.customerId, balance: 4, threshold: 5 },
    ]);
    await alerting.charge.execute(low);
    // 4 → −2: overdrawn by usage that already happened, but no longer crossing.
    await alerting.charge.execute(recorded(tenant.customerId, 3));
    expect(await alertsOf(tenant.customerId)).toHaveLength(1);
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(-2);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('counts a lease’s units as paid: only the usage past it can cross a threshold', async () => {
    const tenant = await fx.seedTenant({ credits: 8, feature: { unitPrice: 1 } });
    const decision = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 2 });
    expect(decision).toMatchObject({ allowed: true, leaseUnits: 2 });
    const leaseId = decision.allowed ? decision.leaseId! : '';
    // 8 → 6 at the admission (no alert service there); the message's third unit: 6 → 5.
    await alerting.charge.execute(recorded(tenant.customerId, 3, [{ leaseId, quantity: 3 }]));
    expect(await alertsOf(tenant.customerId)).toEqual([
      { type: 'balance.low', customerId: tenant.customerId, balance: 5, threshold: 5 },
    ]);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('states an overdrawn balance past 2^53 exactly, as a decimal string', async () => {
    const price = Number.MAX_SAFE_INTEGER;
    const tenant = await fx.seedTenant({ credits: 10, feature: { unitPrice: price } });
    await alerting.charge.execute(recorded(tenant.customerId, 3));
    const exact = 10n - 3n * BigInt(price);
    expect(await alertsOf(tenant.customerId)).toEqual([
      {
        type: 'balance.low',
        customerId: tenant.customerId,
        balance: exact.toString(),
        threshold: 5,
      },
    ]);
    expect((await fx.ledger.exactBalance(tenant.customerId)).available).toBe(exact.toString());
  });

  it('queues no low-balance alert without a threshold set', async () => {
    const quiet = createEntitlementServices(
      fx.dataSource,
      fx.clock,
      new AlertSettings('http://127.0.0.1:9/alerts', 'secret', [50], undefined),
      testConfig().topics,
    );
    const tenant = await fx.seedTenant({ credits: 10, feature: { unitPrice: 3 } });
    await quiet.charge.execute(recorded(tenant.customerId, 3));
    expect(await alertsOf(tenant.customerId)).toEqual([]);
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(1);
  });
});
