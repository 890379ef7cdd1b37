import { randomUUID } from 'node:crypto';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { query } from './support/database';
import { ADMIN_TOKEN, Stack, eventually } from './support/stack';

// JSON bodies are read field by field, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX = Number.MAX_SAFE_INTEGER;
const SERVICE_TOKEN = 'e2e-money-service-token-0123456789';
const LEASE_TTL_SECONDS = 5;

/**
 * Money is exact whatever metering does: a served request is charged exactly once even when
 * metering stops for longer than a lease lives (leases used to expire and hand served units
 * back, so customers got them free and could be served again), and amounts at the 2^53 − 1
 * bound stay exact or are refused, never a 5xx.
 */
describe('money under a stalled meter and at the number bound (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 14621,
      entitlementGrpc: 16651,
      metering: 14622,
      gateway: 19680,
      upstream: 14630,
    },
    'money-',
  );
  let upstream: Awaited<ReturnType<typeof startDemoUpstream>>;
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const getJson = async (url: string): Promise<Json> =>
    (await fetch(url, { headers: admin })).json();

  /** `count` requests, `inFlight` at a time, through the gateway; their statuses. */
  async function requests(apiKey: string, count: number, inFlight: number): Promise<number[]> {
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < count) {
          next += 1;
          const response = await fetch(`${stack.url('gateway')}/demo/hello`, {
            headers: { 'x-api-key': apiKey },
          });
          await response.arrayBuffer();
          statuses.push(response.status);
        }
      }),
    );
    return statuses;
  }
  const tally = (statuses: number[]) => {
    const t: Record<number, number> = {};
    for (const s of statuses) t[s] = (t[s] ?? 0) + 1;
    return t;
  };

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement', 'metering', 'gateway'], {
      // Leases live 5 s on the service and are closed by the gateway after 2 s at most.
      LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
      LEASE_EXPIRY_SWEEP_SECONDS: '1',
      LEASE_MAX_AGE_MS: '2000',
      LEASE_IDLE_MS: '500',
      SERVICE_TOKENS: SERVICE_TOKEN,
    });
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('charges exactly the served requests while metering is down for 3 lease TTLs, and after', async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 100, 'Stalled');
    const balance = () =>
      getJson(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`);
    await stack.kill('metering', 'SIGKILL');
    const stalledAt = Date.now();

    const during = await requests(demo.apiKey, 200, 8);
    expect(tally(during)).toEqual({ 200: 100, 402: 100 });

    // Three lease TTLs pass with sweeps every second: nothing served comes back.
    const seen: Json[] = [];
    while (Date.now() - stalledAt < 3 * LEASE_TTL_SECONDS * 1000 + 2000) {
      seen.push(await balance());
      await sleep(1000);
    }
    expect(seen.every((b) => b.available === 0)).toBe(true);
    expect(tally(await requests(demo.apiKey, 20, 4))).toEqual({ 402: 20 });
    // The served units wait for their usage in closed leases (reserved), never expired back.
    const [leases] = await query<{ open: string; closed: string; held: string }>(
      `SELECT COALESCE(SUM("units" - "consumed" - "returned"), 0)::text AS open,
         count(*) FILTER (WHERE "gateway_closed_at" IS NOT NULL)::text AS closed,
         count(*)::text AS held
       FROM "entitlement"."leases" WHERE "customer_id" = $1 AND "status" = 'held'`,
      [demo.customerId],
    );
    expect(leases.open).toBe('100');
    expect(leases.closed).toBe(leases.held);
    expect(await balance()).toMatchObject({ available: 0, reserved: 100 });

    // Metering comes back and catches up: each served request metered and settled once.
    await stack.restart('metering');
    const usage = await eventually(
      () =>
        getJson(
          `${stack.url('metering')}/v1/usage?customerId=${demo.customerId}&meterKey=api_requests`,
        ),
      (u) => u.total?.value >= 100,
      60_000,
    );
    expect(usage.total).toEqual({ value: 100, events: 100 });
    await eventually(balance, (b) => b.reserved === 0, 60_000);
    await sleep(2000); // nothing arrives late to count twice
    expect(await balance()).toMatchObject({ available: 0, reserved: 0 });
    expect(tally(await requests(demo.apiKey, 20, 4))).toEqual({ 402: 20 });
    const ledger = await query<{ type: string; n: string; sum: string }>(
      `SELECT "type", count(*)::text AS n, SUM("amount")::text AS sum FROM "entitlement"."ledger_entries"
       WHERE "customer_id" = $1 GROUP BY 1 ORDER BY 1`,
      [demo.customerId],
    );
    const total = ledger.reduce((n, r) => n + Number(r.sum), 0);
    expect(total).toBe(0);
    expect(ledger.find((r) => r.type === 'grant')?.sum).toBe('100');
    const [stored] = await query<{ available: string }>(
      `SELECT "available"::text FROM "entitlement"."balances" WHERE "customer_id" = $1`,
      [demo.customerId],
    );
    expect(stored.available).toBe('0');
  }, 240_000);

  it('keeps grants and usage of 2^53 − 1 exact or refused at the bound, and the gateway answering', async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'Bound');
    const grant = (amount: number) =>
      fetch(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/grants`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ amount }),
      });
    expect((await grant(MAX)).status).toBe(201);
    const refused = await grant(MAX);
    expect(refused.status).toBe(400);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(refused.headers.get('x-request-id')).toBeTruthy();
    const problem: Json = await refused.json();
    expect(problem.errors.map((e: Json) => e.field)).toContain('amount');

    const statuses = await requests(demo.apiKey, 20, 4);
    expect(tally(statuses)).toEqual({ 200: 20 });
    // Once the leases are closed and their usage metered, the balance is exact.
    const balance = await eventually(
      () => getJson(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`),
      (b) => b.reserved === 0,
      60_000,
    );
    expect(balance.available).toBe(MAX - 20);

    // Usage of 2^53 − 1, twice, through metering's HTTP ingest: the sum is exact.
    const meterKey = `bound_${randomUUID().slice(0, 8)}`;
    const type = `dev.paygate.e2e.bound.${meterKey}`;
    const meter = await fetch(`${stack.url('metering')}/v1/meters`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({
        key: meterKey,
        eventType: type,
        aggregation: 'sum',
        valuePath: '$.tokens',
      }),
    });
    expect(meter.status).toBe(201);
    const post = await fetch(`${stack.url('metering')}/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${SERVICE_TOKEN}`,
        'content-type': 'application/cloudevents-batch+json',
      },
      body: JSON.stringify(
        ['a', 'b'].map((id) => ({
          specversion: '1.0',
          id: `${meterKey}-${id}`,
          source: 'e2e-bound',
          type,
          subject: demo.customerId,
          time: new Date().toISOString(),
          data: { tokens: MAX },
        })),
      ),
    });
    expect(post.status).toBe(202);
    const usage = await eventually(
      () =>
        getJson(
          `${stack.url('metering')}/v1/usage?customerId=${demo.customerId}&meterKey=${meterKey}`,
        ),
      (u) => u.total?.events === 2,
      60_000,
    );
    expect(usage.total).toEqual({ value: '18014398509481982', events: 2 });
    // Past the bound an event's value is refused up front, with where and why.
    const tooBig = await fetch(`${stack.url('metering')}/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${SERVICE_TOKEN}`,
        'content-type': 'application/cloudevents+json',
      },
      body: `{"specversion":"1.0","id":"${meterKey}-c","source":"e2e-bound","type":"${type}","subject":"${demo.customerId}","time":"${new Date().toISOString()}","data":{"tokens":9007199254740993}}`,
    });
    expect(tooBig.status).toBe(400);
    const tooBigProblem: Json = await tooBig.json();
    expect(tooBigProblem.errors[0].field).toBe('data.tokens');
    // The gateway still answers the customer at the bound.
    expect(tally(await requests(demo.apiKey, 5, 1))).toEqual({ 200: 5 });
  }, 120_000);
});
