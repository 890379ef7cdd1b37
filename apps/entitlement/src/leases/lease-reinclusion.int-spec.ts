import { EntitlementFixture } from '@test/entitlement.fixture';
import { untilSomeoneWaits, grantedCredits, reinclusionsOf } from '@test/statements';
import { recordedUsage } from '@test/usage-recorded';
import { LeaseExpiry } from './lease-expiry';

type Tenant = Awaited<ReturnType<EntitlementFixture['seedTenant']>>;

/**
 * Included units that come back to a period whose counter is above its included units: the
 * credit-paid units of that period they let in are refunded (docs/decisions-and-leases.md,
 * step 7). Each case was an overcharge kept for good before.
 */
describe('Included units given back re-include credit-paid units (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(8);
  });
  afterEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const grpc = () => fx.leaseReleases();
  const release = (leaseId: string, units: number, releaseId = '') =>
    grpc().release({ leaseId, units, releaseId, reason: 'upstream failed' });
  const close = (leaseId: string, units: number) =>
    grpc().release({ leaseId, units, close: true, reason: 'idle' });

  /** 100 included units a period, then 1 credit a unit (or `feature`'s terms). */
  const tenant = (credits: number, feature: object = {}) =>
    fx.seedTenant({ credits, feature: { includedUnits: 100, unitPrice: 1, ...feature } });

  /** A lease of `units` for the gateway's next requests. */
  const lease = async (t: Tenant, units: number) => {
    const d = await fx.check.execute({ ...fx.checkInput(t.apiKey), leaseUnits: units });
    expect(d).toMatchObject({ allowed: true, leaseUnits: units });
    return d.allowed ? d.leaseId! : '';
  };

  /** Usage that reached metering: without a lease (served earlier), or naming its leases. */
  const usage = (t: Tenant, quantity: number, leased: { leaseId: string; quantity: number }[]) =>
    fx.charge.execute(recordedUsage(t.customerId, quantity, leased));

  /** The counters of the tenant's periods, oldest first. */
  const counters = async (t: Tenant) => {
    const rows: { used: string }[] = await fx.dataSource.query(
      `SELECT "used"::text AS "used" FROM "entitlement"."feature_usage"
       WHERE "subscription_id" = $1 ORDER BY "period_start"`,
      [t.subscriptionId],
    );
    return rows.map((r) => Number(r.used));
  };
  const balance = (t: Tenant) => fx.ledger.balance(t.customerId);

  const reinclusions = (leaseId: string) => reinclusionsOf(fx.dataSource, leaseId);
  const granted = (t: Tenant) => grantedCredits(fx.dataSource, t.customerId);

  it('refunds the paid unit a failed request’s unit lets in, once however sent', async () => {
    const t = await tenant(20);
    await usage(t, 90, []);
    // (1) L1: 10 included units, the counter at 100. (2) The renewal, L2: 10 beyond, 10 credits.
    const l1 = await lease(t, 10);
    const l2 = await lease(t, 10);
    expect(await counters(t)).toEqual([110]);
    expect(await balance(t)).toMatchObject({ available: 10, reserved: 10 });
    // (3) L1 used up and closed; the request that took its last unit then fails upstream, and
    // its release is sent three times (answers lost).
    await close(l1, 0);
    for (let i = 0; i < 3; i++)
      expect(await release(l1, 1, 'give-back-1')).toEqual({ released: true });
    expect(await counters(t)).toEqual([109]);
    // 109 units, 100 of them included: 9 credits, not 10.
    expect(await balance(t)).toMatchObject({ available: 11, reserved: 9 });
    expect(await reinclusions(l2)).toEqual([1]);
    // Another failed request of L1, another give-back: another unit comes in.
    expect(await release(l1, 1, 'give-back-2')).toEqual({ released: true });
    expect(await counters(t)).toEqual([108]);
    expect(await balance(t)).toMatchObject({ available: 12, reserved: 8 });
    expect(await reinclusions(l2)).toEqual([1, 1]);

    // The served units' usage arrives: it settles the leases and charges nothing more.
    await usage(t, 18, [
      { leaseId: l1, quantity: 8 },
      { leaseId: l2, quantity: 10 },
    ]);
    expect(await balance(t)).toMatchObject({ available: 12, reserved: 0 });
    expect(await granted(t)).toBe(12);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('refunds what replica B paid when replica A’s included units go back', async () => {
    const t = await tenant(20);
    await usage(t, 90, []);
    const a = await lease(t, 10); // replica A: included units
    const b = await lease(t, 10); // replica B: beyond them, 10 credits
    await usage(t, 10, [{ leaseId: b, quantity: 10 }]);
    await close(b, 0);
    // A's lease goes back idle, whole; the close is sent again (its answer lost).
    for (let i = 0; i < 2; i++) expect(await close(a, 10)).toEqual({ released: true });
    expect(await counters(t)).toEqual([100]);
    expect(await balance(t)).toMatchObject({ available: 20, reserved: 0 });
    expect(await reinclusions(b)).toEqual([10]);
    expect(await granted(t)).toBe(20);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('refunds no more than the smaller of the included units back and the units paid', async () => {
    const t = await tenant(20);
    await usage(t, 90, []);
    const a = await lease(t, 10);
    const b = await lease(t, 3); // 3 credits
    // A gives 4 of its units back while B still holds its 3 unused.
    expect(await release(a, 4, 'a-4')).toEqual({ released: true });
    expect(await counters(t)).toEqual([99]);
    expect(await balance(t)).toMatchObject({ available: 20, reserved: 0 });
    expect(await reinclusions(b)).toEqual([3]);
    // B's units are included ones now: given back, they refund nothing again.
    expect(await close(b, 3)).toEqual({ released: true });
    expect(await counters(t)).toEqual([96]);
    expect(await balance(t)).toMatchObject({ available: 20, reserved: 0 });
    expect(await granted(t)).toBe(20);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('gives back a mixed lease’s paid units first, then re-includes others’', async () => {
    const t = await tenant(20);
    await usage(t, 95, []);
    const l1 = await lease(t, 10); // 5 included, 5 beyond: 5 credits
    const l2 = await lease(t, 10); // 10 credits
    expect(await balance(t)).toMatchObject({ available: 5, reserved: 15 });
    // L1 served 3 and goes back with 7: its 5 paid units, then 2 included ones.
    expect(await close(l1, 7)).toEqual({ released: true });
    expect(await counters(t)).toEqual([108]);
    expect(await balance(t)).toMatchObject({ available: 12, reserved: 8 });
    expect(await reinclusions(l2)).toEqual([2]);
    await usage(t, 13, [
      { leaseId: l1, quantity: 3 },
      { leaseId: l2, quantity: 10 },
    ]);
    expect(await balance(t)).toMatchObject({ available: 12, reserved: 0 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('gives back into the lease’s own period: never refunds against a later one', async () => {
    const t = await tenant(20, { usagePeriod: 'hour' });
    await usage(t, 90, []);
    const l1 = await lease(t, 10);
    const l2 = await lease(t, 10); // 10 credits, first hour
    fx.clock.advance(3600 * 1000);
    await usage(t, 100, []);
    const l3 = await lease(t, 10); // 10 credits, second hour
    expect(await counters(t)).toEqual([110, 110]);
    expect(await balance(t)).toMatchObject({ available: 0, reserved: 20 });
    // L1, of the first hour, goes back idle in the second.
    expect(await close(l1, 10)).toEqual({ released: true });
    expect(await counters(t)).toEqual([100, 110]);
    expect(await balance(t)).toMatchObject({ available: 10, reserved: 10 });
    expect(await reinclusions(l2)).toEqual([10]);
    expect(await reinclusions(l3)).toEqual([]);

    // A first hour that paid nothing has nothing to refund, whatever a later hour paid.
    const u = await tenant(10, { usagePeriod: 'hour' });
    await usage(u, 90, []);
    const m1 = await lease(u, 10);
    fx.clock.advance(3600 * 1000);
    await usage(u, 100, []);
    const m2 = await lease(u, 10);
    expect(await close(m1, 10)).toEqual({ released: true });
    expect(await counters(u)).toEqual([90, 110]);
    expect(await balance(u)).toMatchObject({ available: 0, reserved: 10 });
    expect(await reinclusions(m2)).toEqual([]);
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('refunds no credits that no lease of the period took', async () => {
    // Overage: units beyond the included ones are not paid with credits.
    const o = await tenant(10, { limitPolicy: 'overage' });
    await usage(o, 90, []);
    const o1 = await lease(o, 10);
    await lease(o, 10);
    expect(await close(o1, 10)).toEqual({ released: true });
    expect(await counters(o)).toEqual([100]);
    expect(await balance(o)).toMatchObject({ available: 10, reserved: 0 });

    // Usage served beyond them without a lease (fail-open) is charged on arrival, below zero:
    // that debit is no lease's credits, so no give-back hands it back.
    const f = await tenant(0);
    await usage(f, 90, []);
    const f1 = await lease(f, 10);
    await usage(f, 5, []);
    expect(await balance(f)).toMatchObject({ available: -5 });
    expect(await close(f1, 10)).toEqual({ released: true });
    expect(await counters(f)).toEqual([95]);
    expect(await balance(f)).toMatchObject({ available: -5, reserved: 0 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('re-includes at the expiry of a lease nobody closed, once', async () => {
    const t = await tenant(20);
    await usage(t, 90, []);
    const abandoned = await lease(t, 10);
    const paid = await lease(t, 10);
    await fx.dataSource.query(
      `UPDATE "entitlement"."leases" SET "created_at" = now() - interval '1 hour' WHERE "id" = $1`,
      [abandoned],
    );
    const sweep = () =>
      new LeaseExpiry(fx.dataSource, fx.settlement, fx.clock, {
        LEASE_TTL_SECONDS: 900,
        LEASE_EXPIRY_SWEEP_SECONDS: 30,
      }).sweep();
    await sweep();
    await sweep();
    expect(await counters(t)).toEqual([100]);
    expect(await balance(t)).toMatchObject({ available: 20, reserved: 0 });
    expect(await reinclusions(paid)).toEqual([10]);
    // Its requests had been served after all: their usage arrives late and is charged as
    // ordinary usage, beyond the included units (the bound of step 7).
    await usage(t, 10, [{ leaseId: abandoned, quantity: 10 }]);
    expect(await counters(t)).toEqual([110]);
    expect(await balance(t)).toMatchObject({ available: 10, reserved: 0 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('waits for a payer a settlement holds (not the counter), then re-includes it', async () => {
    const t = await tenant(20);
    await usage(t, 90, []);
    const l1 = await lease(t, 10);
    const older = await lease(t, 5);
    const newer = await lease(t, 5);
    // A usage transaction settles a unit of L1 and of the older payer (so the give-back finds
    // both rows changed once it has their locks) and goes on to lock the counter.
    const holder = fx.dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    try {
      await holder.query(
        `UPDATE "entitlement"."leases" SET "consumed" = "consumed" + 1 WHERE "id" = ANY($1)`,
        [[l1, older]],
      );
      const closing = close(l1, 2);
      await untilSomeoneWaits(fx.dataSource);
      // The give-back waits for the payer without holding the counter: the holder gets it.
      await holder.query(
        `SELECT 1 FROM "entitlement"."feature_usage" WHERE "subscription_id" = $1 FOR UPDATE`,
        [t.subscriptionId],
      );
      await holder.commitTransaction();
      expect(await closing).toEqual({ released: true });
    } finally {
      if (holder.isTransactionActive) await holder.rollbackTransaction();
      await holder.release();
    }
    // The oldest paid units come in first: the payer was waited for, not skipped.
    expect(await reinclusions(older)).toEqual([2]);
    expect(await reinclusions(newer)).toEqual([]);
    expect(await balance(t)).toMatchObject({ available: 12, reserved: 8 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('comes to the same refunds whatever order concurrent give-backs and usage take', async () => {
    for (let round = 0; round < 10; round++) {
      const t = await tenant(20);
      await usage(t, 90, []);
      const a = await lease(t, 10);
      const b = await lease(t, 10);
      // B served 6 and goes back with 4 as A goes back whole; B's usage arrives meanwhile.
      await Promise.all([close(a, 10), close(b, 4), usage(t, 6, [{ leaseId: b, quantity: 6 }])]);
      expect(await counters(t)).toEqual([96]);
      expect(await balance(t)).toMatchObject({ available: 20, reserved: 0 });
      expect(await granted(t)).toBe(20);
    }
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('charges exactly the units beyond the included ones when many go back at once', async () => {
    // Leases of 7 units from 80 used: two included, one across the line, the rest paid (3 a
    // unit). Each then serves some units, closes giving back the ones it never admitted, and
    // gives back (twice: answers lost) the units of requests that failed after the close, all
    // leases at once, with their usage.
    for (let round = 0; round < 4; round++) {
      const t = await tenant(1000, { unitPrice: 3 });
      await usage(t, 80, []);
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push(await lease(t, 7));
      const plans = ids.map((leaseId, i) => ({
        leaseId,
        served: (i * 5 + round) % 6,
        failed: (i + round) % 2,
      }));
      await Promise.all(
        plans.map(async ({ leaseId, served, failed }) => {
          const used = usage(t, served, [{ leaseId, quantity: served }]);
          await close(leaseId, 7 - served - failed);
          for (let k = 0; k < 2 && failed > 0; k++) await release(leaseId, failed, 'failed');
          await used;
        }),
      );
      const [used] = await counters(t);
      expect(used).toBe(80 + plans.reduce((sum, p) => sum + p.served, 0));
      expect(await balance(t)).toMatchObject({
        available: 1000 - 3 * Math.max(0, used - 100),
        reserved: 0,
      });
      expect(await granted(t)).toBe(1000 - 3 * Math.max(0, used - 100));
    }
    expect(await fx.ledger.findDrift()).toEqual([]);
  });
});
