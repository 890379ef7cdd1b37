import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { recordedUsage as recorded } from '@test/usage-recorded';
import { withStatements } from '@test/statements';

describe('UsageChargeUseCase (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  afterAll(() => fx.close());

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

  it('burns the grants only with a new debit entry, even for a message whose claim was pruned', async () => {
    const tenant = await fx.seedTenant({ credits: 10, feature: { unitPrice: 2 } });
    const message = recorded(tenant.customerId, 3);
    await fx.charge.execute(message);
    // Delivered again after its claim was pruned (past PROCESSED_MESSAGES_RETENTION_HOURS).
    await fx.dataSource.query(`DELETE FROM "entitlement"."processed_messages" WHERE "id" = $1`, [
      `usage-recorded:${message.id}`,
    ]);
    await fx.charge.execute(message);
    const [grants]: { remaining: number }[] = await fx.dataSource.query(
      `SELECT SUM("remaining")::int AS "remaining" FROM "entitlement"."grants"
       WHERE "customer_id" = $1 AND "status" = 'active'`,
      [tenant.customerId],
    );
    expect((await fx.ledger.balance(tenant.customerId)).available).toBe(4);
    expect(grants.remaining).toBe(4);
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

  it('settles a batch’s wholly leased messages in one statement, each as it would be alone', async () => {
    const tenant = await fx.seedTenant({ credits: 20 });
    const lease = async (units: number) => {
      const d = await fx.check.execute({ ...fx.checkInput(tenant.apiKey, 1), leaseUnits: units });
      return d.allowed ? d.leaseId! : '';
    };
    const [l1, l2, l3, l4, l5] = [
      await lease(1),
      await lease(1),
      await lease(1),
      await lease(2),
      await lease(3),
    ];
    const earlier = recorded(tenant.customerId, 1, [{ leaseId: l5, quantity: 1 }]);
    expect(await fx.charge.execute(earlier)).toBe('applied');
    const whole1 = recorded(tenant.customerId, 1, [{ leaseId: l1, quantity: 1 }]);
    const whole2 = recorded(tenant.customerId, 1, [{ leaseId: l2, quantity: 1 }]);
    // Named for all its units, but the lease holds one of three: the transaction's.
    const short = recorded(tenant.customerId, 3, [{ leaseId: l3, quantity: 3 }]);
    // Two messages naming one lease: left alone, for the caller to apply in turn.
    const shared1 = recorded(tenant.customerId, 1, [{ leaseId: l4, quantity: 1 }]);
    const shared2 = recorded(tenant.customerId, 1, [{ leaseId: l4, quantity: 1 }]);
    const unleased = recorded(tenant.customerId, 2);
    // A lease named by a message that is not wholly leased and by a later one that is (with
    // its id in capitals): the later one must not take it first.
    const l6 = await lease(1);
    const mixed = recorded(tenant.customerId, 2, [{ leaseId: l6, quantity: 1 }]);
    const after = recorded(tenant.customerId, 1, [{ leaseId: l6.toUpperCase(), quantity: 1 }]);
    const { result: outcomes, texts } = await withStatements(() =>
      fx.charge.executeWholeEach([
        whole1,
        short,
        shared1,
        earlier,
        whole2,
        shared2,
        unleased,
        whole1,
        mixed,
        after,
      ]),
    );
    expect(texts).toHaveLength(1);
    expect(outcomes).toEqual([
      undefined, // its claim is given twice in the batch
      'partial',
      undefined,
      'duplicate',
      'applied',
      undefined,
      'partial',
      undefined,
      'partial',
      undefined, // names a lease that mixed names too
    ]);
    // What the statement left is applied alone, as the consumer does.
    expect(await fx.charge.execute(whole1)).toBe('applied');
    expect(await fx.charge.execute(short, true)).toBe('applied');
    expect(await fx.charge.execute(shared1)).toBe('applied');
    expect(await fx.charge.execute(shared2)).toBe('applied');
    expect(await fx.charge.execute(unleased, true)).toBe('applied');
    expect(await fx.charge.execute(whole1)).toBe('duplicate');
    // In their order: mixed settles l6 and is charged its second unit, after finds l6 used.
    expect(await fx.charge.execute(mixed, true)).toBe('applied');
    expect(await fx.charge.execute(after)).toBe('applied');
    const consumed = await fx.dataSource.query(
      `SELECT "id", "consumed"::int AS "consumed" FROM "entitlement"."leases" WHERE "customer_id" = $1`,
      [tenant.customerId],
    );
    expect(
      Object.fromEntries(consumed.map((r: { id: string; consumed: number }) => [r.id, r.consumed])),
    ).toEqual({
      [l1]: 1,
      [l2]: 1,
      [l3]: 1,
      [l4]: 2,
      [l5]: 1,
      [l6]: 1,
    });
    // 9 credits reserved by the leases; 2 more units of short, 2 unleased, 1 of mixed and 1 of
    // after charged: 20 − 15. l5's 2 open units stay reserved.
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 5, reserved: 2 });
    const debits = await fx.dataSource.query(
      `SELECT "idempotency_key", "amount"::int AS "amount" FROM "entitlement"."ledger_entries"
       WHERE "customer_id" = $1 AND "type" = 'debit'`,
      [tenant.customerId],
    );
    expect(debits).toEqual(
      expect.arrayContaining([
        { idempotency_key: `usage-recorded:${mixed.id}:debit`, amount: -1 },
        { idempotency_key: `usage-recorded:${after.id}:debit`, amount: -1 },
      ]),
    );
    expect(await fx.ledger.findDrift()).toEqual([]);
  });
});
