import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { operatorApi, seedCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, ARTIFACTS, Stack, eventually } from './support/stack';

/**
 * An upstream that holds every request until `open()`: what the gateways let through is in
 * flight here at once, and `maxInFlight` is the most that ever were.
 */
async function holdingUpstream(port: number) {
  const held: ServerResponse[] = [];
  /** The path of every request that reached it. */
  const paths: string[] = [];
  /** With `holding` false it answers at once. */
  const state = { inFlight: 0, maxInFlight: 0, hits: 0, holding: true };
  const server: Server = createServer((req, res) => {
    state.hits += 1;
    paths.push(req.url ?? '');
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    res.once('close', () => (state.inFlight -= 1));
    req.resume();
    if (state.holding) held.push(res);
    else res.writeHead(200).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    server,
    state,
    paths,
    /** Answers every request held so far. */
    open: () => {
      for (const res of held.splice(0)) res.writeHead(200).end('{"ok":true}');
    },
  };
}

/**
 * Plan concurrency limits shared by three gateway replicas (issue 18): the entitlement service
 * never lets the slots they hold sum past the limit (HoldConcurrency), so one customer sending
 * 10 × its limit at once through all three has at most its limit in flight upstream, and at
 * most the documented bound fewer ((N − 1) × 2 × spare, docs/decisions-and-leases.md). Every
 * other request is a 429 `concurrency-limited` that never reaches the upstream and costs
 * nothing; slots come back when responses end, when callers hang up, and when a killed
 * replica's hold expires.
 */
describe('concurrency limits shared by gateway replicas (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 18021,
      entitlementGrpc: 18051,
      metering: 18022,
      gateway: 18080,
      upstream: 18000,
    },
    'shared-concurrency-',
  );
  const replicas = [18081, 18082];
  const gateways = [stack.ports.gateway, ...replicas].map((p) => `http://127.0.0.1:${p}`);
  let upstream: Awaited<ReturnType<typeof holdingUpstream>>;
  // Short holds, so that a killed replica's slots come back within the test.
  const HOLD_SECONDS = '3';

  beforeAll(async () => {
    upstream = await holdingUpstream(stack.ports.upstream);
    await stack.start(['entitlement', 'gateway'], { CONCURRENCY_HOLD_SECONDS: HOLD_SECONDS });
    for (const [i, port] of replicas.entries()) {
      await stack.startInstance(`gateway-${i + 2}`, 'gateway', port, {
        ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
        ROUTES_FILE: join(ARTIFACTS, 'routes.e2e.json'),
        CONCURRENCY_HOLD_SECONDS: HOLD_SECONDS,
      });
    }
  }, 120_000);
  afterAll(async () => {
    upstream?.open();
    await stack.stop();
    upstream?.server.closeAllConnections();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  /** A customer whose `requests` allow `limit` in flight at once, with plenty of credits. */
  const limitedCustomer = (limit: number) =>
    seedCustomer(stack.url('entitlement'), ADMIN_TOKEN, {
      credits: 10_000,
      name: 'Concurrent',
      plan: { key: `concurrent-${randomUUID().slice(0, 8)}`, name: `${limit} at once` },
      feature: { concurrencyLimit: limit },
    });

  /** `count` requests at once, spread over the replicas; each settles to its status and body. */
  const wave = (apiKey: string, count: number, signal?: AbortSignal) =>
    Array.from({ length: count }, async (_, i) => {
      const response = await fetch(`${gateways[i % 3]}/demo/hello`, {
        headers: { 'x-api-key': apiKey, 'accept-language': 'de' },
        signal,
      });
      const body = (await response.json()) as Record<string, unknown>;
      return { status: response.status, headers: response.headers, body };
    });

  it('keeps a limit of 6 in flight across three replicas under 10 × that load, and frees slots as responses end', async () => {
    const customer = await limitedCustomer(6);
    const call = operatorApi(stack.url('entitlement'), ADMIN_TOKEN);
    let served = 0;
    // The second round finds every slot of the first given back.
    for (let round = 0; round < 2; round += 1) {
      upstream.state.maxInFlight = 0;
      const hitsBefore = upstream.state.hits;
      // Every request is either held upstream or refused at once; then the upstream answers.
      type Answer = Awaited<ReturnType<typeof wave>[number]>;
      const limited: Answer[] = [];
      const pending = wave(customer.apiKey, 60).map((p) =>
        p.then((answer) => {
          limited.push(answer);
          return answer;
        }),
      );
      await eventually(
        async () => upstream.state.hits - hitsBefore + limited.length,
        (n) => n === 60,
        20_000,
      );
      const admitted = upstream.state.hits - hitsBefore;
      // Spare: 10 % of 6 → 1 slot; two other replicas keep at most 2 unused each.
      expect(upstream.state.maxInFlight).toBeLessThanOrEqual(6);
      expect(admitted).toBeGreaterThanOrEqual(6 - 2 * 2);
      for (const answer of limited) {
        expect(answer?.status).toBe(429);
        expect(answer?.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(answer?.headers.get('retry-after')).toBe('1');
        expect(answer?.headers.get('x-request-id')).toBeTruthy();
        expect(answer?.body).toMatchObject({
          type: 'https://paygate.dev/problems/concurrency-limited',
          status: 429,
          feature: 'requests',
          limit: 6,
        });
        expect(answer?.body.detail).toMatch(/6 gleichzeitige Anfragen an requests/);
      }
      upstream.open();
      const all = await Promise.all(pending);
      expect(all.filter((a) => a.status === 200)).toHaveLength(admitted);
      served += admitted;
    }

    // Refused requests cost nothing: once unused lease units went back, exactly the served
    // requests hold credits (this stack has no metering to settle them).
    const balance = await eventually(
      () =>
        call<{ available: number; reserved: number }>(
          'GET',
          `/v1/customers/${customer.customerId}/balance`,
        ),
      (b) => b.reserved === served,
      30_000,
    );
    expect(balance.available).toBe(10_000 - served);
  });

  it('frees the slots of callers that hang up while their requests are in flight', async () => {
    const customer = await limitedCustomer(4);
    const hangUp = new AbortController();
    const hitsBefore = upstream.state.hits;
    const first = wave(customer.apiKey, 12, hangUp.signal).map((p) => p.catch(() => null));
    await eventually(
      async () => upstream.state.inFlight,
      (n) => n > 0,
      10_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const admitted = upstream.state.hits - hitsBefore;
    expect(admitted).toBeLessThanOrEqual(4);
    hangUp.abort();
    await Promise.all(first);
    // Callers that hang up at any moment, many while their request is still being decided
    // (before it has a response to close): none of them keeps a slot.
    const impatient = Array.from({ length: 40 }, async (_, i) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), i % 20);
      await fetch(`${gateways[i % 3]}/demo/hello`, {
        headers: { 'x-api-key': customer.apiKey },
        signal: controller.signal,
      })
        .then((response) => response.arrayBuffer())
        .catch(() => null);
    });
    await Promise.all(impatient);
    // The upstream calls of those that got through were cancelled.
    await eventually(
      async () => upstream.state.inFlight,
      (n) => n === 0,
      10_000,
    );

    // All four slots are free again: four requests at once through one replica are all let
    // through, once the other replicas gave back the spare slots they kept (idle for a third
    // of the hold).
    let attempt = 0;
    const throughOne = async () => {
      // Its own path: requests of hung-up callers may still reach the upstream (and be
      // cancelled there) before their gateway sees the caller gone.
      const path = `/demo/hello?attempt=${(attempt += 1)}`;
      const reached = () => upstream.paths.filter((p) => p === path.slice('/demo'.length)).length;
      let refused = 0;
      const burst = Array.from({ length: 4 }, () =>
        fetch(`${gateways[0]}${path}`, { headers: { 'x-api-key': customer.apiKey } }).then(
          async (response) => {
            if (response.status === 429) refused += 1;
            await response.arrayBuffer();
            return response.status;
          },
        ),
      );
      await eventually(
        async () => reached() + refused,
        (n) => n === 4,
        10_000,
      );
      upstream.open();
      await Promise.all(burst);
      return reached();
    };
    expect(await eventually(throughOne, (admitted) => admitted === 4, 15_000)).toBe(4);
  });

  it("gives a killed replica's slots back when its hold expires, never before", async () => {
    const customer = await limitedCustomer(3);
    const replica = `http://127.0.0.1:${replicas[1]}`;
    const before = upstream.state.hits;
    // The third replica takes all three slots, then dies without giving them back.
    const doomed = Array.from({ length: 3 }, () =>
      fetch(`${replica}/demo/hello`, { headers: { 'x-api-key': customer.apiKey } }).catch(
        () => null,
      ),
    );
    await eventually(
      async () => upstream.state.hits - before,
      (n) => n === 3,
      10_000,
    );
    await stack.kill('gateway-3');
    await Promise.all(doomed);
    upstream.open();

    // Its hold still counts: another replica refuses.
    const refused = await fetch(`${gateways[0]}/demo/hello`, {
      headers: { 'x-api-key': customer.apiKey },
    });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { type: string }).type).toMatch(/concurrency-limited$/);

    // Once it expired (3 s), the slots are others' again: all three at once.
    upstream.state.holding = false;
    const statuses = await eventually(
      () =>
        Promise.all(
          Array.from({ length: 3 }, async () => {
            const response = await fetch(`${gateways[0]}/demo/hello`, {
              headers: { 'x-api-key': customer.apiKey },
            });
            await response.arrayBuffer();
            return response.status;
          }),
        ),
      (all) => all.every((status) => status === 200),
      15_000,
    );
    expect(statuses).toEqual([200, 200, 200]);
  });
});
