import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { LeaseExpiry } from './lease-expiry';

describe('LeaseExpiry (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(4);
  });
  afterAll(() => fx.close());

  it('returns an abandoned lease, and usage arriving for it later is charged once as ordinary usage', async () => {
    const tenant = await fx.seedTenant({ credits: 2 });
    const leaseOf = async () => {
      const d = await fx.check.execute(fx.checkInput(tenant.apiKey));
      return d.allowed ? d.leaseId! : '';
    };
    const abandoned = await leaseOf();
    const fresh = await leaseOf();
    await fx.dataSource.query(
      `UPDATE "entitlement"."leases" SET "created_at" = now() - interval '1 hour' WHERE "id" = $1`,
      [abandoned],
    );
    const expiry = new LeaseExpiry(fx.dataSource, fx.settlement, fx.clock, {
      LEASE_TTL_SECONDS: 900,
      LEASE_EXPIRY_SWEEP_SECONDS: 30,
    });
    expect(await expiry.sweep()).toBeGreaterThanOrEqual(1);
    const statuses: { id: string; status: string }[] = await fx.dataSource.query(
      `SELECT "id", "status" FROM "entitlement"."leases" WHERE "id" = ANY($1)`,
      [[abandoned, fresh]],
    );
    expect(Object.fromEntries(statuses.map((s) => [s.id, s.status]))).toEqual({
      [abandoned]: 'released',
      [fresh]: 'held',
    });
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 1, reserved: 1 });

    // The request had been served after all: its usage event arrives late.
    const late = {
      id: randomUUID(),
      customerId: tenant.customerId,
      meterKey: 'api_requests',
      quantity: 1,
      leased: [{ leaseId: abandoned, quantity: 1 }],
      firstEventAt: new Date().toISOString(),
      lastEventAt: new Date().toISOString(),
      recordedAt: new Date().toISOString(),
    };
    await fx.charge.execute(late);
    await fx.charge.execute(late);
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 0, reserved: 1 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('never returns the served units of a lease its gateway closed, however late usage comes', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    const d = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 10 });
    expect(d).toMatchObject({ allowed: true, leaseUnits: 10 });
    const leaseId = d.allowed ? d.leaseId! : '';
    // The gateway served 7 and closed the lease, giving back the 3 it never admitted.
    await fx.dataSource.transaction((m) => fx.settlement.close(m, leaseId, 'idle', 3));
    // A request of the 7 failed upstream after the close: its unit goes back too.
    await fx.dataSource.transaction((m) => fx.settlement.release(m, leaseId, 'upstream failed', 1));
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 4, reserved: 6 });

    // Metering stalls far past the lease TTL: the sweep leaves the closed lease alone.
    await fx.dataSource.query(
      `UPDATE "entitlement"."leases" SET "created_at" = now() - interval '10 hours' WHERE "id" = $1`,
      [leaseId],
    );
    const expiry = new LeaseExpiry(fx.dataSource, fx.settlement, fx.clock, {
      LEASE_TTL_SECONDS: 900,
      LEASE_EXPIRY_SWEEP_SECONDS: 30,
    });
    await expiry.sweep();
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 4, reserved: 6 });

    // Metering catches up: the 6 served units settle the lease, nothing is charged twice.
    const usage = {
      id: randomUUID(),
      customerId: tenant.customerId,
      meterKey: 'api_requests',
      quantity: 6,
      leased: [{ leaseId, quantity: 6 }],
      firstEventAt: new Date().toISOString(),
      lastEventAt: new Date().toISOString(),
      recordedAt: new Date().toISOString(),
    };
    await fx.charge.execute(usage);
    await fx.charge.execute(usage);
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 4, reserved: 0 });
    const [lease]: { status: string; consumed: string; returned: string }[] =
      await fx.dataSource.query(
        `SELECT "status", "consumed", "returned" FROM "entitlement"."leases" WHERE "id" = $1`,
        [leaseId],
      );
    expect(lease).toEqual({ status: 'settled', consumed: '6', returned: '4' });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('closes a lease that gives nothing back in one statement: once, and only a lease that exists', async () => {
    const tenant = await fx.seedTenant({ credits: 5 });
    const d = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 5 });
    const leaseId = d.allowed ? d.leaseId! : '';
    const closedAt = async () => {
      const [row]: { gateway_closed_at: Date | null }[] = await fx.dataSource.query(
        `SELECT "gateway_closed_at" FROM "entitlement"."leases" WHERE "id" = $1`,
        [leaseId],
      );
      return row.gateway_closed_at;
    };
    // Outside any transaction, as the gRPC Release does for a close of 0 units.
    expect(await fx.settlement.close(fx.dataSource.manager, leaseId, 'idle', 0)).toBe(true);
    const first = await closedAt();
    expect(first).toBeInstanceOf(Date);
    expect(await fx.settlement.close(fx.dataSource.manager, leaseId, 'idle', 0)).toBe(true);
    expect(await closedAt()).toEqual(first);
    expect(await fx.settlement.close(fx.dataSource.manager, randomUUID(), 'idle', 0)).toBe(false);
    // Every unit stays open for its usage: nothing was given back.
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 0, reserved: 5 });
  });

  it('closes a lease once: a close tried again gives nothing back a second time', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    const d = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 10 });
    const leaseId = d.allowed ? d.leaseId! : '';
    // 7 served, 3 never admitted: the close gives 3 back. Its answer is lost (a deadline) and
    // the gateway closes again, as its retry does.
    for (let i = 0; i < 2; i++)
      expect(
        await fx.dataSource.transaction((m) => fx.settlement.close(m, leaseId, 'idle', 3)),
      ).toBe(true);
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 3, reserved: 7 });
    const [lease]: { returned: string }[] = await fx.dataSource.query(
      `SELECT "returned"::text FROM "entitlement"."leases" WHERE "id" = $1`,
      [leaseId],
    );
    expect(lease.returned).toBe('3');
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('gives an unserved request back once, however often its release is sent', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    const d = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 4 });
    const leaseId = d.allowed ? d.leaseId! : '';
    // All 4 admitted and the lease closed; two of those requests then fail upstream.
    await fx.dataSource.transaction((m) => fx.settlement.close(m, leaseId, 'used up', 0));
    const release = (requestId: string) =>
      fx.dataSource.transaction((m) =>
        fx.settlement.release(m, leaseId, 'upstream failed', 1, requestId),
      );
    // The first request's release is sent three times (answers lost), the second's once.
    for (let i = 0; i < 3; i++) expect(await release('req-a')).toBe(true);
    expect(await release('req-b')).toBe(true);
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 8, reserved: 2 });
    const [lease]: { returned: string }[] = await fx.dataSource.query(
      `SELECT "returned"::text FROM "entitlement"."leases" WHERE "id" = $1`,
      [leaseId],
    );
    expect(lease.returned).toBe('2');
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('does not expire a lease its gateway closed after the sweep listed it', async () => {
    const tenant = await fx.seedTenant({ credits: 5 });
    const d = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 5 });
    const leaseId = d.allowed ? d.leaseId! : '';
    // The sweep listed it (old, unclosed); the gateway's close, 4 units served, lands first.
    await fx.dataSource.transaction((m) => fx.settlement.close(m, leaseId, 'idle', 1));
    expect(await fx.dataSource.transaction((m) => fx.settlement.expire(m, leaseId))).toBe(false);
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 1, reserved: 4 });
    // An unclosed lease is expired whole.
    const other = await fx.check.execute({ ...fx.checkInput(tenant.apiKey), leaseUnits: 1 });
    const otherId = other.allowed ? other.leaseId! : '';
    expect(await fx.dataSource.transaction((m) => fx.settlement.expire(m, otherId))).toBe(true);
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 1, reserved: 4 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });
});
