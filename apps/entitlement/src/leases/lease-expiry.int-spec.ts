import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { RpcException } from '@nestjs/microservices';
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

  /** Makes leases older than any TTL, so the next sweep finds them due. */
  const age = (ids: string[]) =>
    fx.dataSource.query(
      `UPDATE "entitlement"."leases" SET "created_at" = now() - interval '1 hour' WHERE "id" = ANY($1)`,
      [ids],
    );
  const sweeper = () =>
    new LeaseExpiry(fx.dataSource, fx.settlement, fx.clock, {
      LEASE_TTL_SECONDS: 900,
      LEASE_EXPIRY_SWEEP_SECONDS: 30,
    });

  it('gives back exactly what a large lease at a high price took, though the product passes 2^53', async () => {
    // 9,999 units at 90,090,011 credits: 900,810,019,989 credits, and 9,999 × that > 2^53
    // (in floating point the refund came out as 900810019989.0001, which no ledger takes).
    const tenant = await fx.seedTenant({ credits: 1e12, feature: { unitPrice: 90_090_011 } });
    const d = await fx.check.execute(fx.checkInput(tenant.apiKey, 9_999));
    expect(d).toMatchObject({ allowed: true, leaseUnits: 9_999 });
    const leaseId = d.allowed ? d.leaseId! : '';
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({
      available: 1e12 - 9_999 * 90_090_011,
      reserved: 9_999 * 90_090_011,
    });
    await age([leaseId]);
    await sweeper().sweep();
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({
      available: 1e12,
      reserved: 0,
    });
    const [grants]: { remaining: string }[] = await fx.dataSource.query(
      `SELECT SUM("remaining")::text AS "remaining" FROM "entitlement"."grants"
       WHERE "customer_id" = $1 AND "status" = 'active'`,
      [tenant.customerId],
    );
    expect(grants.remaining).toBe('1000000000000');
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('goes on past a lease the database refuses to expire, and tries it again next sweep', async () => {
    const tenant = await fx.seedTenant({ credits: 2 });
    const leaseIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const d = await fx.check.execute(fx.checkInput(tenant.apiKey));
      leaseIds.push(d.allowed ? d.leaseId! : '');
    }
    const [refused, other] = leaseIds;
    await age(leaseIds);
    // The older one is listed first; the database refuses any change to it.
    await fx.dataSource.query(
      `UPDATE "entitlement"."leases" SET "created_at" = "created_at" - interval '1 minute' WHERE "id" = $1`,
      [refused],
    );
    await fx.dataSource.query(`
      CREATE OR REPLACE FUNCTION "entitlement"."test_refuse_lease"() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'refused for the test'; END $$ LANGUAGE plpgsql;
      CREATE TRIGGER "test_refuse_lease" BEFORE UPDATE ON "entitlement"."leases"
        FOR EACH ROW WHEN (OLD."id" = '${refused}') EXECUTE FUNCTION "entitlement"."test_refuse_lease"()`);
    const status = async (id: string) =>
      (
        await fx.dataSource.query(`SELECT "status" FROM "entitlement"."leases" WHERE "id" = $1`, [
          id,
        ])
      )[0].status as string;
    try {
      await sweeper().sweep();
      expect(await status(refused)).toBe('held');
      expect(await status(other)).toBe('released');
    } finally {
      await fx.dataSource.query(`DROP TRIGGER "test_refuse_lease" ON "entitlement"."leases"`);
      await fx.dataSource.query(`DROP FUNCTION "entitlement"."test_refuse_lease"()`);
    }
    await sweeper().sweep();
    expect(await status(refused)).toBe('released');
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 2, reserved: 0 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  describe('CloseLeases (a gateway’s batch of used-up leases)', () => {
    const grpc = () => fx.leaseReleases();
    const leasesOf = async (credits: number, count: number) => {
      const tenant = await fx.seedTenant({ credits });
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const d = await fx.check.execute(fx.checkInput(tenant.apiKey));
        ids.push(d.allowed ? d.leaseId! : '');
      }
      return { tenant, ids };
    };
    const closedAt = async (ids: string[]) => {
      const rows: { id: string; gateway_closed_at: Date | null }[] = await fx.dataSource.query(
        `SELECT "id", "gateway_closed_at" FROM "entitlement"."leases" WHERE "id" = ANY($1)`,
        [ids],
      );
      return Object.fromEntries(rows.map((r) => [r.id, r.gateway_closed_at]));
    };

    it('closes every lease named once in one statement; unknown ids and leases closed before are left alone', async () => {
      const { tenant, ids } = await leasesOf(5, 4);
      // One of them was closed before (a Release with close), a minute ago as far as its row says.
      await fx.settlement.close(fx.dataSource.manager, ids[0], 'used up', 0);
      await fx.dataSource.query(
        `UPDATE "entitlement"."leases" SET "gateway_closed_at" = now() - interval '1 minute' WHERE "id" = $1`,
        [ids[0]],
      );
      const [before] = Object.values(await closedAt([ids[0]]));
      const named = [ids[1], ids[0], randomUUID(), ids[2], ids[1]];
      expect(await grpc().closeLeases({ leaseIds: named })).toEqual({ closed: 2 });
      const after = await closedAt(ids);
      expect(after[ids[0]]).toEqual(before);
      expect(after[ids[1]]).toBeInstanceOf(Date);
      expect(after[ids[2]]).toBeInstanceOf(Date);
      expect(after[ids[3]]).toBeNull();
      // Sent again (its answer was lost): nothing more changes.
      expect(await grpc().closeLeases({ leaseIds: named })).toEqual({ closed: 0 });
      expect(await closedAt(ids)).toEqual(after);
      expect(await grpc().closeLeases({ leaseIds: [] })).toEqual({ closed: 0 });
      // Served units of a closed lease never come back at its expiry, however late usage is.
      await fx.dataSource.query(
        `UPDATE "entitlement"."leases" SET "created_at" = now() - interval '10 hours' WHERE "id" = ANY($1)`,
        [ids],
      );
      const expiry = new LeaseExpiry(fx.dataSource, fx.settlement, fx.clock, {
        LEASE_TTL_SECONDS: 900,
        LEASE_EXPIRY_SWEEP_SECONDS: 30,
      });
      await expiry.sweep();
      // The fourth lease was never closed: its unit came back; the three closed stay reserved.
      expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({
        available: 2,
        reserved: 3,
      });
      expect(await fx.ledger.findDrift()).toEqual([]);
    });

    it('refuses a batch past 1000 ids, or with an id that is not a UUID, and closes none of it', async () => {
      const { ids } = await leasesOf(2, 2);
      const refused = async (leaseIds: string[]) => {
        const err = await grpc()
          .closeLeases({ leaseIds })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).toBeInstanceOf(RpcException);
        return (err as RpcException).getError();
      };
      expect(await refused([ids[0], 'lease-1'])).toEqual({
        code: 3,
        message: 'leaseIds[1] must be a UUID',
      });
      expect(await refused([ids[0], ...Array.from({ length: 1000 }, () => randomUUID())])).toEqual({
        code: 3,
        message: 'leaseIds must name at most 1000 leases',
      });
      expect(Object.values(await closedAt(ids))).toEqual([null, null]);
    });

    it('closes each lease once and settles it once when batches in other orders and its usage come at the same time', async () => {
      const { tenant, ids } = await leasesOf(40, 40);
      const reversed = [...ids].reverse();
      const usage = {
        id: randomUUID(),
        customerId: tenant.customerId,
        meterKey: 'api_requests',
        quantity: ids.length,
        leased: reversed.map((leaseId) => ({ leaseId, quantity: 1 })),
        firstEventAt: new Date().toISOString(),
        lastEventAt: new Date().toISOString(),
        recordedAt: new Date().toISOString(),
      };
      const closes = await Promise.all([
        grpc().closeLeases({ leaseIds: ids }),
        grpc().closeLeases({ leaseIds: reversed }),
        grpc().closeLeases({ leaseIds: [...ids.slice(20), ...ids.slice(0, 20)] }),
        fx.charge.execute(usage).then(() => ({ closed: 0 })),
      ]);
      // Each lease closed by exactly one of the batches, and settled by its usage once.
      expect(closes.reduce((sum, c) => sum + c.closed, 0)).toBe(ids.length);
      expect(Object.values(await closedAt(ids)).every((at) => at instanceof Date)).toBe(true);
      expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({
        available: 0,
        reserved: 0,
      });
      expect(await fx.ledger.findDrift()).toEqual([]);
    });
  });
});
