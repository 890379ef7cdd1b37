import { type EntitlementChangedEvent, changeTransaction, decidedWith } from '@paygate/contracts';
import { testConfig } from '@paygate/testing';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { EntitlementChanges } from './entitlement-changes';

describe('entitlement.changed through the outbox (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
  });
  afterAll(() => fx.close());

  const changes = async (customerId: string): Promise<EntitlementChangedEvent[]> => {
    const rows: { value: Buffer }[] = await fx.dataSource.query(
      `SELECT "value" FROM "entitlement"."outbox" WHERE "topic" = $1 AND "key" = $2 ORDER BY "id"`,
      [testConfig().topics.entitlementChanged, customerId],
    );
    return rows.map((r) => JSON.parse(r.value.toString()) as EntitlementChangedEvent);
  };

  it('queues a change for each event that can change a decision, in its transaction', async () => {
    const tenant = await fx.seedTenant({ credits: 1 });
    expect((await changes(tenant.customerId)).map((c) => c.reason)).toEqual([
      'customer-created',
      'subscription-created',
      'credits-granted',
      'api-key-created',
    ]);

    expect((await fx.check.execute(fx.checkInput(tenant.apiKey))).allowed).toBe(true);
    await fx.subscriptions.update(tenant.subscriptionId, { status: 'suspended' });
    await fx.apiKeys.revoke(tenant.apiKeyId);
    await fx.apiKeys.revoke(tenant.apiKeyId);
    const all = await changes(tenant.customerId);
    expect(all.slice(4).map((c) => c.reason)).toEqual([
      'balance-exhausted',
      'subscription-changed',
      'api-key-revoked',
    ]);
    expect(all[6]).toMatchObject({ customerId: tenant.customerId, apiKeyId: tenant.apiKeyId });
    expect(all[5]).toMatchObject({ subscriptionId: tenant.subscriptionId });
  });

  it('queues nothing for a replayed grant or a refused check', async () => {
    const tenant = await fx.seedTenant({});
    const before = (await changes(tenant.customerId)).length;
    await fx.credits.grant(tenant.customerId, { amount: 1 }, `k-${tenant.customerId}`);
    await fx.credits.grant(tenant.customerId, { amount: 1 }, `k-${tenant.customerId}`);
    await fx.check.execute(fx.checkInput(tenant.apiKey, 5));
    expect((await changes(tenant.customerId)).length - before).toBe(1);
  });

  it('tells each change’s transaction, which a decision read after it shows committed', async () => {
    const tenant = await fx.seedTenant({ credits: 5 });
    const setup = await changes(tenant.customerId);
    for (const c of setup) expect(c.transactionId).toMatch(/^[1-9]\d*$/);
    for (const c of setup) expect(c.databaseRun).toMatch(/^\d+(\.\d+)?$/);
    const decision = await fx.check.execute(fx.checkInput(tenant.apiKey));
    const read: { readSnapshot?: string; readDatabaseRun?: string } = decision.allowed
      ? decision
      : {};
    expect(read.readSnapshot).toMatch(/^\d+:\d+:[\d,]*$/);
    expect(read.readDatabaseRun).toBe(setup[0].databaseRun);
    // A gateway that gets the setup's events while this answer is on its way keeps its lease.
    for (const c of setup) expect(decidedWith(read, changeTransaction(c)!)).toBe(true);

    // A change still in progress while a decision reads is not shown by its snapshot, however
    // it ends (the gateway drops that lease); once committed, the next decision shows it.
    const runner = fx.dataSource.createQueryRunner();
    await runner.startTransaction();
    try {
      const announce = new EntitlementChanges(fx.clock, testConfig().topics);
      await announce.record(runner.manager, tenant.customerId, 'customer-changed');
      const [{ xid }] = await runner.query('SELECT pg_current_xact_id()::text AS xid');
      const during = await fx.check.execute(fx.checkInput(tenant.apiKey));
      const made = { id: xid, databaseRun: setup[0].databaseRun! };
      expect(decidedWith(during.allowed ? during : {}, made)).toBe(false);
      await runner.commitTransaction();
      const [change] = (await changes(tenant.customerId)).slice(-1);
      expect(change).toMatchObject({ reason: 'customer-changed', transactionId: xid });
      const after = await fx.check.execute(fx.checkInput(tenant.apiKey));
      expect(decidedWith(after.allowed ? after : {}, made)).toBe(true);
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
    }
  });
});
