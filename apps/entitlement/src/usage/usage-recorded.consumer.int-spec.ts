import type { UsageRecordedEvent } from '@paygate/contracts';
import type { InboundMessage } from '@paygate/messaging';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { recordedUsage as recorded } from '@test/usage-recorded';
import type { EntitlementConfig } from '../config/entitlement.config';
import { UsageRecordedConsumer } from './usage-recorded.consumer';

/**
 * The consumer's batch handling on real Postgres: what arrives on usage.recorded is applied
 * once, in order, and nothing a message carries stops the batch (the Kafka side, commits and
 * redelivery, is BatchConsumer's and covered with it).
 */
describe('UsageRecordedConsumer.handle (real Postgres)', () => {
  let fx: EntitlementFixture;
  let consumer: UsageRecordedConsumer;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
    // The configuration is only read to subscribe, which handle() does not need.
    consumer = new UsageRecordedConsumer({} as EntitlementConfig, fx.charge);
  });
  afterAll(() => fx.close());

  const batch = (values: (UsageRecordedEvent | string)[]): InboundMessage[] =>
    values.map((value, offset) => ({
      topic: 'usage-recorded',
      partition: 0,
      offset: String(offset),
      key: null,
      value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
      headers: {},
      timestamp: '0',
    }));
  /** A lease of `units` for the key's customer, as a gateway asks for one. */
  const leaseFor = async (apiKey: string, units: number) => {
    const d = await fx.check.execute({ ...fx.checkInput(apiKey, 1), leaseUnits: units });
    return d.allowed ? d.leaseId! : '';
  };
  const consumed = async (leaseIds: string[]) => {
    const rows: { id: string; consumed: number }[] = await fx.dataSource.query(
      `SELECT "id", "consumed"::int AS "consumed" FROM "entitlement"."leases" WHERE "id" = ANY($1)`,
      [leaseIds],
    );
    return leaseIds.map((id) => rows.find((r) => r.id === id)?.consumed);
  };

  it('applies each message of a batch once and in order, skipping what is not usage; a replay changes nothing', async () => {
    const tenant = await fx.seedTenant({ credits: 20 });
    const lease = (units: number) => leaseFor(tenant.apiKey, units);
    const [l1, l4] = [await lease(1), await lease(2)];
    const whole = recorded(tenant.customerId, 1, [{ leaseId: l1, quantity: 1 }]);
    // Two messages naming one lease, applied in turn; the second names it in capitals.
    const shared1 = recorded(tenant.customerId, 1, [{ leaseId: l4, quantity: 1 }]);
    const shared2 = recorded(tenant.customerId, 1, [{ leaseId: l4.toUpperCase(), quantity: 1 }]);
    const unleased = recorded(tenant.customerId, 2);
    const messages = batch([
      whole,
      '{"not": "usage"',
      shared1,
      { ...recorded(tenant.customerId, 1), customerId: 'not-a-uuid' },
      shared2,
      whole,
      unleased,
      JSON.stringify({ ...recorded(tenant.customerId, 1), quantity: 2 ** 53 }),
    ]);
    await consumer.handle(messages);
    expect(await consumed([l1, l4])).toEqual([1, 2]);
    // 20 credits: 3 reserved by the leases and used, 2 charged for the unleased usage.
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({
      available: 15,
      reserved: 0,
    });

    await consumer.handle(messages);
    expect(await consumed([l1, l4])).toEqual([1, 2]);
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({
      available: 15,
      reserved: 0,
    });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('takes a lease only for the meter of its feature: another meter reading the same requests never uses it', async () => {
    const tenant = await fx.seedTenant({ credits: 20 });
    const lease = (units: number) => leaseFor(tenant.apiKey, units);
    const [a, b, c] = [await lease(2), await lease(2), await lease(2)];
    // Metering reports every additive meter reading a gateway's events with the events' lease:
    // here `requests` (api_requests) and a meter no feature bills, for the same two requests.
    const other = (leaseId: string) => ({
      ...recorded(tenant.customerId, 2, [{ leaseId, quantity: 2 }]),
      meterKey: 'api_request_bytes',
    });
    const own = (leaseId: string) => recorded(tenant.customerId, 2, [{ leaseId, quantity: 2 }]);
    // The other meter's message first, alone in its batch (the one statement), then in one
    // batch with the lease's own (both name the lease: one at a time, in order), then last.
    await consumer.handle(batch([other(a)]));
    await consumer.handle(batch([own(a), other(b), own(b)]));
    await consumer.handle(batch([own(c)]));
    await consumer.handle(batch([other(c)]));
    expect(await consumed([a, b, c])).toEqual([2, 2, 2]);
    // 6 credits reserved by the leases and used by the requests; nothing charged twice.
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({
      available: 14,
      reserved: 0,
    });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });

  it('skips a message the database refuses, applies the rest of its batch, and goes on', async () => {
    const tenant = await fx.seedTenant({ credits: 10 });
    const lease = () => leaseFor(tenant.apiKey, 1);
    const [l1, l2, l3] = [await lease(), await lease(), await lease()];
    // A NUL byte in its id: Postgres refuses the text (22021), first in the batch's one
    // statement, then in the message's own.
    const poisoned = { ...recorded(tenant.customerId, 1, [{ leaseId: l2, quantity: 1 }]) };
    poisoned.id = `bad\u0000${poisoned.id}`;
    const before = recorded(tenant.customerId, 1, [{ leaseId: l1, quantity: 1 }]);
    const after = recorded(tenant.customerId, 1, [{ leaseId: l3, quantity: 1 }]);
    const unleased = recorded(tenant.customerId, 2);
    await consumer.handle(batch([before, poisoned, after, unleased]));
    expect(await consumed([l1, l2, l3])).toEqual([1, 0, 1]);
    // 10 credits: 3 reserved by the leases, 2 of them used; 2 charged for the unleased usage.
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 5, reserved: 1 });

    await consumer.handle(batch([before, poisoned, after, unleased]));
    expect(await fx.ledger.balance(tenant.customerId)).toMatchObject({ available: 5, reserved: 1 });
    expect(await fx.ledger.findDrift()).toEqual([]);
  });
});
