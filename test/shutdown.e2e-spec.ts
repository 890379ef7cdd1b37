import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, Stack, eventually } from './support/stack';

// JSON bodies are read field by field, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const SERVICE_TOKEN = 'e2e-shutdown-service-token-0123';
const CREDITS = 1_000_000;

/**
 * Graceful shutdown (what `docker compose down` sends): on SIGTERM under load each service
 * stops accepting, finishes what is in flight, flushes and commits, and exits 0 within 5 s;
 * no served request goes unmetered and no lease stays reserved.
 */
describe('graceful shutdown (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 15021,
      entitlementGrpc: 17051,
      metering: 15022,
      gateway: 20080,
      upstream: 15030,
    },
    'shutdown-',
  );
  let upstream: { server: Server; hits: () => number };
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const getJson = async (url: string): Promise<Json> =>
    (await fetch(url, { headers: admin })).json();

  /** The child process of a service of the stack (Stack keeps them to itself). */
  const processOf = (name: string): ChildProcess => {
    const { processes } = stack as unknown as {
      processes: { name: string; child: ChildProcess }[];
    };
    const found = processes.find((p) => p.name === name && p.child.exitCode === null);
    if (!found) throw new Error(`${name} is not running`);
    return found.child;
  };

  /** Sends SIGTERM; resolves with the exit code (null: killed by a signal) and the time taken. */
  const terminate = (child: ChildProcess): Promise<{ code: number | null; ms: number }> => {
    const since = Date.now();
    const exited = new Promise<{ code: number | null; ms: number }>((resolve) =>
      child.once('exit', (code) => resolve({ code, ms: Date.now() - since })),
    );
    child.kill('SIGTERM');
    return exited;
  };

  /** Requests from `workers` loops until `until` resolves or the target stops answering. */
  const load = async (
    workers: number,
    until: Promise<unknown>,
    send: () => Promise<Response>,
  ): Promise<Map<string, number>> => {
    const outcomes = new Map<string, number>();
    let done = false;
    void until.finally(() => (done = true));
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (!done) {
          let outcome: string;
          try {
            const response = await send();
            await response.arrayBuffer();
            outcome = String(response.status);
          } catch {
            outcome = 'connection error';
            await new Promise((r) => setTimeout(r, 20));
          }
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        }
      }),
    );
    return outcomes;
  };

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement', 'metering', 'gateway'], {
      SERVICE_TOKENS: SERVICE_TOKEN,
      // Leases neither idle out nor age out during the test: only the shutdown gives them back.
      LEASE_IDLE_MS: '600000',
      LEASE_MAX_AGE_MS: '600000',
    });
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('gateway: exits 0 within 5 s under load, every 200 metered, every lease returned', async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, CREDITS, 'Stop');
    const gateway = processOf('gateway');
    let exit!: Promise<{ code: number | null; ms: number }>;
    const sigterm = new Promise((r) => setTimeout(r, 1500)).then(() => {
      exit = terminate(gateway);
      return exit;
    });
    const outcomes = await load(16, sigterm, () =>
      fetch(`${stack.url('gateway')}/demo/hello`, { headers: { 'x-api-key': demo.apiKey } }),
    );
    const { code, ms } = await exit;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5_000);
    const served = outcomes.get('200') ?? 0;
    expect(served).toBeGreaterThan(50);
    // While closing, only 503s (Fastify's answer on a connection it is closing) or refused
    // connections: nothing that was admitted fails.
    for (const status of outcomes.keys())
      expect(['200', '503', 'connection error']).toContain(status);

    const usage = await eventually(
      () =>
        getJson(
          `${stack.url('metering')}/v1/usage?customerId=${demo.customerId}&meterKey=api_requests`,
        ),
      (u) => u.total?.value >= served,
      60_000,
    );
    expect(usage.total).toEqual({ value: served, events: served });
    const balance = await eventually(
      () => getJson(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`),
      (b) => b.reserved === 0,
      30_000,
    );
    expect(balance).toEqual({
      customerId: demo.customerId,
      available: CREDITS - served,
      reserved: 0,
    });
  }, 120_000);

  it('gateway: a response still streaming is cut after the drain, and its usage and leases land', async () => {
    await stack.restart('gateway');
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, CREDITS, 'Stream');
    const headers = { 'x-api-key': demo.apiKey };
    for (let i = 0; i < 3; i++) {
      const answer = await fetch(`${stack.url('gateway')}/demo/hello`, { headers });
      expect(answer.status).toBe(200);
      await answer.arrayBuffer();
    }
    // An event stream of 30 s (what model APIs answer), its first event read.
    const stream = await fetch(`${stack.url('gateway')}/demo/stream`, { headers });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    const reading = (async () => {
      try {
        while (!(await reader.read()).done);
      } catch {
        // Cut: the connection was closed under it.
      }
    })();
    // It outlasts the drain: its connection is closed, and the shutdown hooks (the last usage
    // flush, the lease closes) still run before the deadline. Without the drain the process
    // waited for the stream, exited 1 at the deadline, and left its leases held.
    const { code } = await terminate(processOf('gateway'));
    expect(code).toBe(0);
    await reading;
    const usage = await eventually(
      () =>
        getJson(
          `${stack.url('metering')}/v1/usage?customerId=${demo.customerId}&meterKey=api_requests`,
        ),
      (u) => u.total?.value >= 4,
      60_000,
    );
    expect(usage.total).toEqual({ value: 4, events: 4 });
    const balance = await eventually(
      () => getJson(`${stack.url('entitlement')}/v1/customers/${demo.customerId}/balance`),
      (b) => b.reserved === 0,
      30_000,
    );
    expect(balance).toMatchObject({ available: CREDITS - 4, reserved: 0 });
  }, 120_000);

  it('metering: exits 0 within 5 s while events arrive, and every accepted event counts', async () => {
    const customerId = randomUUID();
    let n = 0;
    const metering = processOf('metering');
    let exit!: Promise<{ code: number | null; ms: number }>;
    const sigterm = new Promise((r) => setTimeout(r, 1000)).then(() => {
      exit = terminate(metering);
      return exit;
    });
    const outcomes = await load(8, sigterm, () =>
      fetch(`${stack.url('metering')}/events`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${SERVICE_TOKEN}`,
          'content-type': 'application/cloudevents+json',
        },
        body: JSON.stringify({
          specversion: '1.0',
          id: `${customerId}-${n++}`,
          source: 'shutdown-e2e',
          type: 'dev.paygate.request.served',
          subject: customerId,
          time: new Date().toISOString(),
          data: { units: 1 },
        }),
      }),
    );
    const { code, ms } = await exit;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5_000);
    const accepted = outcomes.get('202') ?? 0;
    expect(accepted).toBeGreaterThan(10);
    for (const status of outcomes.keys())
      expect(['202', '503', 'connection error']).toContain(status);

    // Started again, it finds every accepted event on the topic, each counted once.
    await stack.restart('metering');
    const usage = await eventually(
      () =>
        getJson(`${stack.url('metering')}/v1/usage?customerId=${customerId}&meterKey=api_requests`),
      (u) => u.total?.value >= accepted,
      60_000,
    );
    expect(usage.total).toEqual({ value: accepted, events: accepted });
  }, 120_000);

  it('entitlement: exits 0 within 5 s while operator calls arrive', async () => {
    const entitlement = processOf('entitlement');
    let exit!: Promise<{ code: number | null; ms: number }>;
    const sigterm = new Promise((r) => setTimeout(r, 500)).then(() => {
      exit = terminate(entitlement);
      return exit;
    });
    const outcomes = await load(8, sigterm, () =>
      fetch(`${stack.url('entitlement')}/v1/plans`, { headers: admin }),
    );
    const { code, ms } = await exit;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5_000);
    expect(outcomes.get('200') ?? 0).toBeGreaterThan(0);
    for (const status of outcomes.keys())
      expect(['200', '503', 'connection error']).toContain(status);
  }, 60_000);

  it('demo upstream: a request in flight is answered, then it exits 0 within 5 s', async () => {
    const port = stack.ports.upstream + 1;
    const child = spawn(
      process.execPath,
      [join(__dirname, '..', 'dist/scripts/demo-upstream.js')],
      {
        env: { PATH: process.env.PATH ?? '', PORT: String(port) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    // /slow answers after two seconds: in flight when the signal arrives.
    const slow = fetch(`http://127.0.0.1:${port}/slow`);
    await new Promise((r) => setTimeout(r, 200));
    const { code, ms } = await terminate(child);
    expect((await slow).status).toBe(200);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5_000);
  }, 30_000);
});
