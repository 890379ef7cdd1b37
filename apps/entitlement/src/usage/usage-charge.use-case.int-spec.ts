import type { UsageRecordedEvent } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';

describe('UsageChargeUseCase (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  afterAll(() => fx.close());

  const recorded = (
    customerId: string,
    quantity: number,
    leased: { leaseId: string; quantity: number }[] = [],
  ) =>
    ({
      id: randomUUID(),
      customerId,
      meterKey: 'api_requests',
      quantity,
      leased,
      firstEventAt: new Date().toISOString(),
      lastEventAt: new Date().toISOString(),
      recordedAt: new Date().toISOString(),
    }) satisfies UsageRecordedEvent;

  it('settles leased units without charging them twice, and applies a replay once', async () => {
    const tenant = await fx.seedTenant({ credits: 3 });
    const decisions = await Promise.all(
      [1, 2].map(() => fx.check.execute(fx.checkInput(tenant.apiKey))),
    );
    const leases = decisions.map((d) => ({ leaseId: d.allowed ? d.leaseId! : '', quantity: 1 }));
    const message = recorded(tenant.customerId, 2, leases);
    expect(await fx.charge.execute(message)).toBe('applied');
    expect(await fx.charge.execute(message)).toBe('duplicate');
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 1, reserved: 0 });
    const statuses = await fx.dataSource.query(
      `SELECT DISTINCT "status" FROM "entitlement"."leases" WHERE "customer_id" = $1`,
      [tenant.customerId],
    );
    expect(statuses).toEqual([{ status: 'settled' }]);
  });

  it('lets a lease cover at most its units: more usage under it is charged once, as ordinary usage', async () => {
    const tenant = await fx.seedTenant({ credits: 5 });
    const d = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 2 });
    expect(d).toMatchObject({ allowed: true, leaseUnits: 2 });
    const leaseId = d.allowed ? d.leaseId! : '';
    // Three requests reported under a two-unit lease, in two messages.
    await fx.charge.execute(recorded(tenant.customerId, 2, [{ leaseId, quantity: 2 }]));
    await fx.charge.execute(recorded(tenant.customerId, 1, [{ leaseId, quantity: 1 }]));
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(2);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('claims and settles a fully leased message once, however often it is replayed or raced', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    const d = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 10 });
    const leaseId = d.allowed ? d.leaseId! : '';
    // The lease keeps open units after the first delivery, so every replay could settle again.
    const message = recorded(tenant.customerId, 3, [{ leaseId, quantity: 3 }]);
    const transactions = jest.spyOn(fx.dataSource, 'transaction');
    try {
      const outcomes = await Promise.all([1, 2, 3, 4].map(() => fx.charge.execute(message)));
      expect(outcomes.sort()).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate']);
      expect(await fx.charge.execute(message)).toBe('duplicate');
      // All of it in single statements: the leases covered the message every time.
      expect(transactions).not.toHaveBeenCalled();
    } finally {
      transactions.mockRestore();
    }
    const [lease]: { consumed: string; status: string }[] = await fx.dataSource.query(
      `SELECT "consumed", "status" FROM "entitlement"."leases" WHERE "id" = $1`,
      [leaseId],
    );
    expect(lease).toEqual({ consumed: '3', status: 'held' });
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 0, reserved: 7 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('settles a message naming a lease twice past its units in a transaction: the rest is charged', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    const d = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 3 });
    const leaseId = d.allowed ? d.leaseId! : '';
    // Named units add up to the quantity, but the lease covers 3 of the 4: the one statement
    // changes nothing and the transaction settles 3 and charges 1.
    const message = recorded(tenant.customerId, 4, [
      { leaseId, quantity: 2 },
      { leaseId, quantity: 2 },
    ]);
    const transactions = jest.spyOn(fx.dataSource, 'transaction');
    try {
      expect(await fx.charge.execute(message)).toBe('applied');
      expect(transactions).toHaveBeenCalledTimes(1);
    } finally {
      transactions.mockRestore();
    }
    expect(await fx.charge.execute(message)).toBe('duplicate');
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 6, reserved: 0 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('settles a message naming several leases, one twice, as settling them in turn would', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    const leaseOf = async (units: number) => {
      const d = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: units });
      return d.allowed ? d.leaseId! : '';
    };
    const [a, b] = [await leaseOf(3), await leaseOf(2)];
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(5);
    // a named twice (2 + 2 of its 3 units), b once and once with a negative quantity, and a
    // name that is no lease id: a covers 3, b 1, the other 3 units are ordinary usage.
    const message = recorded(tenant.customerId, 7, [
      { leaseId: a, quantity: 2 },
      { leaseId: b, quantity: 1 },
      { leaseId: a, quantity: 2 },
      { leaseId: b, quantity: -1 },
      { leaseId: 'not-a-lease', quantity: 1 },
    ]);
    expect(await fx.charge.execute(message)).toBe('applied');
    expect(await fx.charge.execute(message)).toBe('duplicate');
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 2, reserved: 1 });
    const rows: { id: string; status: string; consumed: string }[] = await fx.dataSource.query(
      `SELECT "id", "status", "consumed" FROM "entitlement"."leases" WHERE "id" = ANY($1)`,
      [[a, b]],
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.status, r.consumed]]))).toEqual({
      [a]: ['settled', '3'],
      [b]: ['held', '1'],
    });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('charges usage reported without a lease from credits, once', async () => {
    const tenant = await fx.seedTenant({ credits: 10, feature: { unitPrice: 2 } });
    const message = recorded(tenant.customerId, 3);
    await fx.charge.execute(message);
    await fx.charge.execute(message);
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(4);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('counts unleased usage against included units before credits', async () => {
    const tenant = await fx.seedTenant({ credits: 10, feature: { includedUnits: 2 } });
    await fx.charge.execute(recorded(tenant.customerId, 5));
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(7);
  });

  it('treats an unknown or released lease as unleased usage', async () => {
    const tenant = await fx.seedTenant({ credits: 5 });
    await fx.charge.execute(
      recorded(tenant.customerId, 1, [{ leaseId: randomUUID(), quantity: 1 }]),
    );
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(4);
  });

  it('ignores usage of a customer without a matching metered feature', async () => {
    expect(await fx.charge.execute(recorded(randomUUID(), 3))).toBe('unbillable');
  });
});
