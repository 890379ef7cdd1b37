import { EntitlementFixture } from '@test/entitlement.fixture';
import { holdLocks, withStatements, grantedCredits, reinclusionsOf } from '@test/statements';
import { recordedUsage } from '@test/usage-recorded';

type Tenant = Awaited<ReturnType<EntitlementFixture['seedTenant']>>;

/**
 * A give-back of included units and a decision admitting a lease across them, at the same
 * moment: whichever takes the counter's give-back turn first, the other waits for it, so the
 * customer ends up charged what the two in either order would charge (docs/known-limits.md
 * once listed this race as an overcharge kept for the period).
 */
describe('A give-back racing a decision across the included units (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(8);
  });
  afterAll(() => fx.close());

  const grpc = () => fx.leaseReleases();
  const close = (leaseId: string, units: number) =>
    grpc().release({ leaseId, units, close: true, reason: 'idle' });

  /**
   * 100 included units, then 1 credit a unit, 20 credits; 90 units used and a lease of 5
   * (included: the counter at 95), the one to give back.
   */
  const setUp = async () => {
    const t = await fx.seedTenant({ credits: 20, feature: { includedUnits: 100, unitPrice: 1 } });
    await fx.charge.execute(recordedUsage(t.customerId, 90, []));
    const d = await fx.check.execute({ ...fx.checkInput(t.apiKey), leaseUnits: 5 });
    expect(d).toMatchObject({ allowed: true, leaseUnits: 5 });
    return { t, given: d.allowed ? d.leaseId! : '' };
  };

  /**
   * A lease of 10 units from the counter at 95 (5 included, 5 at 1 credit), decided by the one
   * statement (a request of cost 10) or by the transaction (a lease ahead of its cost).
   */
  const admissions = {
    'one statement': (t: Tenant) => fx.check.execute(fx.checkInput(t.apiKey, 10)),
    transaction: (t: Tenant) => fx.check.execute({ ...fx.checkInput(t.apiKey), leaseUnits: 10 }),
  };

  /** How many backends of this database wait for a lock. */
  const waiting = async () => {
    const [row]: { n: number }[] = await fx.dataSource.query(
      `SELECT count(*)::int AS "n" FROM pg_stat_activity
       WHERE "datname" = current_database() AND "wait_event_type" = 'Lock'`,
    );
    return row.n;
  };

  /**
   * Resolves once `running` has settled (true) or `n` backends wait for a lock (false),
   * whichever is first.
   */
  const untilDoneOrWaiting = async (running: Promise<unknown>, n: number) => {
    let done = false;
    void running.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done && (await waiting()) < n) await new Promise((r) => setTimeout(r, 10));
    return done;
  };

  /**
   * How the decisions among `texts` (statements sent) took the counter's give-back turn: tried
   * in the one statement, or waited for by the transaction.
   */
  const turns = (texts: string[]) =>
    texts.flatMap((text) =>
      text.includes('pg_try_advisory_xact_lock_shared')
        ? ['tried']
        : text.includes('pg_advisory_xact_lock_shared')
          ? ['waited']
          : [],
    );

  const counter = async (t: Tenant) => {
    const [row]: { used: string }[] = await fx.dataSource.query(
      `SELECT "used"::text AS "used" FROM "entitlement"."feature_usage"
       WHERE "subscription_id" = $1`,
      [t.subscriptionId],
    );
    return Number(row.used);
  };
  const leaseRow = async (id: string) => {
    const [row]: { units: string; beyond_units: string; credits: string }[] =
      await fx.dataSource.query(
        `SELECT "units"::text AS "units", "beyond_units"::text AS "beyond_units",
           "credits"::text AS "credits" FROM "entitlement"."leases" WHERE "id" = $1`,
        [id],
      );
    return {
      units: Number(row.units),
      beyond: Number(row.beyond_units),
      credits: Number(row.credits),
    };
  };
  const reinclusions = (leaseId: string) => reinclusionsOf(fx.dataSource, leaseId);
  const granted = (t: Tenant) => grantedCredits(fx.dataSource, t.customerId);

  /**
   * What either order leaves: the counter at 100 (95 − 5 + 10), all 10 of the new lease's
   * units within the included ones, nothing charged.
   */
  const expectSerialMoney = async (t: Tenant, admitted: string) => {
    expect(await fx.ledger.balance(t.customerId)).toMatchObject({ available: 20, reserved: 0 });
    expect(await leaseRow(admitted)).toEqual({ units: 10, beyond: 0, credits: 0 });
    expect(await counter(t)).toBe(100);
    expect(await granted(t)).toBe(20);
    expect(await fx.ledger.findDrift()).toEqual([]);
  };

  describe.each(Object.entries(admissions))('decided by the %s', (path, admit) => {
    const alone = path === 'one statement';

    it('waits for a give-back that has its turn, and prices after it', async () => {
      const { t, given } = await setUp();
      // A usage settlement holds the lease being given back: the give-back has taken its turn
      // (and looked for payers: there are none) and waits for the lease.
      const commitSettlement = await holdLocks(
        fx.dataSource,
        `SELECT 1 FROM "entitlement"."leases" WHERE "id" = $1 FOR UPDATE`,
        [given],
      );
      const { result, texts } = await withStatements(async () => {
        try {
          const closing = close(given, 5);
          await untilDoneOrWaiting(closing, 1);
          // The decision comes now. Without waiting for the give-back, it would price 5 units
          // beyond the included ones (the counter still at 95) and commit before the give-back
          // goes on, which found no payer: 5 credits charged for units back within them.
          const deciding = admit(t);
          const decidedAtOnce = await untilDoneOrWaiting(deciding, 2);
          return { closing, deciding, decidedAtOnce };
        } finally {
          await commitSettlement();
        }
      });
      expect(await result.closing).toEqual({ released: true });
      const decision = await result.deciding;
      expect(decision).toMatchObject({ allowed: true, leaseUnits: 10 });
      const admitted = decision.allowed ? decision.leaseId! : '';
      await expectSerialMoney(t, admitted);
      expect(await reinclusions(admitted)).toEqual([]);
      // It waited for the give-back's turn: the one statement declined to the transaction.
      expect(result.decidedAtOnce).toBe(false);
      expect(turns(texts)).toEqual(alone ? ['tried', 'waited'] : ['waited']);
    });

    it('makes a give-back wait for an admission in flight, and re-includes it', async () => {
      const { t, given } = await setUp();
      // A change of the customer's credits holds the balance: the decision has locked the
      // counter (and taken its turn), priced 5 units at 1 credit, and waits for the balance.
      const commitCredits = await holdLocks(
        fx.dataSource,
        `SELECT 1 FROM "entitlement"."balances" WHERE "customer_id" = $1 FOR UPDATE`,
        [t.customerId],
      );
      const { result, texts } = await withStatements(async () => {
        try {
          const deciding = admit(t);
          await untilDoneOrWaiting(deciding, 1);
          // The give-back comes now. Without waiting for the decision, it would look for payers
          // before the new lease commits, and so leave its 5 credits charged.
          const closing = close(given, 5);
          const closedAtOnce = await untilDoneOrWaiting(closing, 2);
          return { closing, deciding, closedAtOnce };
        } finally {
          await commitCredits();
        }
      });
      const decision = await result.deciding;
      expect(decision).toMatchObject({ allowed: true, leaseUnits: 10 });
      expect(await result.closing).toEqual({ released: true });
      const admitted = decision.allowed ? decision.leaseId! : '';
      await expectSerialMoney(t, admitted);
      // Charged 5 credits, then given them back when the included units came back.
      expect(await reinclusions(admitted)).toEqual([5]);
      expect(result.closedAtOnce).toBe(false);
      // The one statement admitted it, holding the turn from the counter's lock to its commit.
      expect(turns(texts)).toEqual([alone ? 'tried' : 'waited']);
    });
  });
});
