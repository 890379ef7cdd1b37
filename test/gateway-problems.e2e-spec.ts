import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { DemoCustomer, seedDemoCustomer } from '../scripts/seed-demo';
import { testConfig } from '@paygate/testing';
import { ADMIN_TOKEN, ARTIFACTS, Stack, eventually } from './support/stack';

// Problem bodies are checked with matchers, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * Every problem the gateway answers (ARCHITECTURE.md §3), each through a real request, with
 * its status, code and headers. (429 is in rate-limits, 503 entitlement-unavailable in
 * failure-policy, 400 validation-failed in gateway-routes, 503 service-unavailable in the
 * usage publisher's unit test: Kafka would have to refuse usage for a while.)
 */
describe('gateway problems (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 13901,
      entitlementGrpc: 15951,
      metering: 13902,
      gateway: 18980,
      upstream: 14900,
    },
    'problems-',
  );
  const overridden = 18981;
  let upstream: { server: Server; hits: () => number };
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const operator = (method: string, path: string, body?: unknown): Promise<Json> =>
    stack.operator<Json>(method, path, body);
  const customer = (name: string, credits = 10) =>
    seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, credits, name);
  const call = (
    path: string,
    apiKey?: string,
    init: RequestInit = {},
    base = stack.url('gateway'),
  ) =>
    fetch(`${base}${path}`, {
      ...init,
      headers: { ...(apiKey ? { 'x-api-key': apiKey } : {}), ...(init.headers ?? {}) },
    });

  /** Answers as a problem with this status and code; returns the response for more checks. */
  async function expectProblem(response: Response, status: number, code: string): Promise<Json> {
    expect({
      status: response.status,
      code: ((await response.clone().json()) as Json).code,
    }).toEqual({
      status,
      code,
    });
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    return response.json();
  }

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    const routes = stack.writeRoutes('problems', {
      demo: {},
      scoped: { scopes: ['admin'] },
      premium: { feature: 'premium' },
      getonly: { methods: ['GET'] },
      // Nothing listens on port 9 here: the connection is refused.
      dead: { upstream: 'http://127.0.0.1:9' },
      slow: { stripPrefix: false },
      metered5xx: { meterUpstreamErrors: true },
      browser: { cors: { origins: ['https://app.example'], headers: ['x-trace'] } },
    });
    const env = { ROUTES_FILE: routes, BODY_LIMIT_BYTES: '1024', UPSTREAM_TIMEOUT_MS: '500' };
    await stack.start(['entitlement', 'metering', 'gateway'], env);
    await stack.startInstance('gateway-403', 'gateway', overridden, {
      ...env,
      ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
      PROBLEM_STATUSES: 'feature-not-in-plan=403',
    });
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('401 unauthenticated, with WWW-Authenticate', async () => {
    const response = await call('/demo/x');
    await expectProblem(response, 401, 'UNAUTHENTICATED');
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="paygate"');
  });

  it('403 forbidden for a key without the route scope, customer-blocked for a customer an operator blocked', async () => {
    const scoped = await customer('Scopes');
    await expectProblem(await call('/scoped/x', scoped.apiKey), 403, 'FORBIDDEN');
    const blocked = await customer('Blocked');
    expect((await call('/demo/x', blocked.apiKey)).status).toBe(200);
    await operator('PATCH', `/v1/customers/${blocked.customerId}`, { blocked: true });
    // Within a second the gateway drops what it kept for the customer.
    const refused = await eventually(
      () => call('/demo/x', blocked.apiKey),
      (r) => r.status === 403,
      5_000,
    );
    await expectProblem(refused, 403, 'CUSTOMER_BLOCKED');
    // In the caller's language: what to do is the same in every one (ask the provider).
    const german = await expectProblem(
      await call('/demo/x', blocked.apiKey, { headers: { 'accept-language': 'de' } }),
      403,
      'CUSTOMER_BLOCKED',
    );
    expect(german).toMatchObject({ title: 'Konto gesperrt' });
    await operator('PATCH', `/v1/customers/${blocked.customerId}`, { blocked: false });
    await eventually(
      async () => (await call('/demo/x', blocked.apiKey)).status,
      (s) => s === 200,
      5_000,
    );
  });

  it.each([
    ['canceled', 'SUBSCRIPTION_EXPIRED'],
    ['suspended', 'ACCOUNT_SUSPENDED'],
    ['incomplete', 'PAYMENT_PENDING'],
  ])('402 for a %s subscription: %s, with the link', async (status, code) => {
    const c: DemoCustomer = await customer(`Status ${status}`);
    await operator('PATCH', `/v1/subscriptions/${c.subscriptionId}`, { status });
    const problem = await expectProblem(await call('/demo/x', c.apiKey), 402, code);
    expect(problem).toMatchObject({ plan: 'pay-as-you-go' });
    expect(problem.link).toMatch(/\/billing\/[\w-]+\.[\w-]+$/);
  });

  it('402 payment-pending says when to ask again (Retry-After)', async () => {
    const c = await customer('Pending');
    await operator('PATCH', `/v1/subscriptions/${c.subscriptionId}`, { status: 'incomplete' });
    const response = await call('/demo/x', c.apiKey);
    await expectProblem(response, 402, 'PAYMENT_PENDING');
    expect(response.headers.get('retry-after')).toBe('30');
  });

  it('402 quota-exhausted with the numbers, under a plan that blocks past its included units', async () => {
    const plan = await operator('POST', '/v1/plans', {
      key: `blocking-${Date.now()}`,
      name: 'Blocking',
      features: [
        {
          key: 'requests',
          kind: 'metered',
          meterKey: 'api_requests',
          includedUnits: 2,
          limitPolicy: 'block',
          unitPrice: 0,
        },
      ],
    });
    const c = await operator('POST', '/v1/customers', { name: 'Quota' });
    await operator('POST', `/v1/customers/${c.id}/subscriptions`, {
      planId: plan.id,
      status: 'active',
    });
    const key = await operator('POST', `/v1/customers/${c.id}/api-keys`, { name: 'e2e' });
    expect((await call('/demo/x', key.key)).status).toBe(200);
    expect((await call('/demo/x', key.key)).status).toBe(200);
    const problem = await expectProblem(await call('/demo/x', key.key), 402, 'QUOTA_EXHAUSTED');
    expect(problem).toMatchObject({ feature: 'requests', limit: 2, used: 2 });
    expect(problem.resetsAt).toEqual(expect.any(String));
  });

  it('402 feature-not-in-plan, or 403 where the deployment says so (PROBLEM_STATUSES)', async () => {
    const c = await customer('Premium');
    const problem = await expectProblem(
      await call('/premium/x', c.apiKey),
      402,
      'FEATURE_NOT_IN_PLAN',
    );
    expect(problem).toMatchObject({ feature: 'premium', plan: 'pay-as-you-go' });
    const base = `http://127.0.0.1:${overridden}`;
    await expectProblem(await call('/premium/x', c.apiKey, {}, base), 403, 'FEATURE_NOT_IN_PLAN');
  });

  it('404 not-found and 405 method-not-allowed with Allow', async () => {
    const c = await customer('Routes');
    await expectProblem(await call('/nowhere', c.apiKey), 404, 'NOT_FOUND');
    // In the caller's language, as every problem the gateway writes.
    const french = await call('/nowhere', c.apiKey, { headers: { 'accept-language': 'fr' } });
    expect(french.headers.get('content-language')).toBe('fr');
    expect(await expectProblem(french, 404, 'NOT_FOUND')).toMatchObject({
      detail: expect.stringContaining('Aucune API'),
    });
    const response = await call('/getonly/x', c.apiKey, { method: 'POST', body: '{}' });
    await expectProblem(response, 405, 'METHOD_NOT_ALLOWED');
    expect(response.headers.get('allow')).toBe('GET');
  });

  it("answers a browser's preflight itself on a route with cors, and lets the page read every answer", async () => {
    const page = 'https://app.example';
    const preflight = (path: string, origin: string) =>
      call(path, undefined, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'x-api-key, x-trace',
        },
      });
    // No key (a preflight never has one), nothing forwarded, nothing charged.
    const hitsBefore = upstream.hits();
    const allowed = await preflight('/browser/x', page);
    expect(allowed.status).toBe(204);
    expect(Object.fromEntries(allowed.headers)).toMatchObject({
      'access-control-allow-origin': page,
      'access-control-allow-methods': expect.stringContaining('GET'),
      'access-control-allow-headers': expect.stringMatching(/x-api-key.*x-trace/),
      'access-control-max-age': '600',
      vary: expect.stringContaining('Origin'),
      'x-request-id': expect.any(String),
    });
    const stranger = await preflight('/browser/x', 'https://evil.example');
    expect(stranger.status).toBe(204);
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
    // A route without cors: a preflight is a request like any other (here, without a key).
    await expectProblem(await preflight('/demo/x', page), 401, 'UNAUTHENTICATED');
    expect(upstream.hits()).toBe(hitsBefore);

    // The 402 a page gets is readable there, offers and request id included.
    const broke = await customer('Browser broke', 0);
    const refused = await call('/browser/x', broke.apiKey, { headers: { origin: page } });
    await expectProblem(refused.clone(), 402, 'INSUFFICIENT_CREDITS');
    expect(refused.headers.get('access-control-allow-origin')).toBe(page);
    expect(refused.headers.get('access-control-expose-headers')).toMatch(
      /x-request-id.*payment-required/,
    );
    expect(refused.headers.get('vary')).toMatch(/Origin.*Accept-Language/);
    // And a served answer; another origin's page gets no permission to read it.
    const paying = await customer('Browser paying', 2);
    const served = await call('/browser/x', paying.apiKey, { headers: { origin: page } });
    expect(served.status).toBe(200);
    expect(served.headers.get('access-control-allow-origin')).toBe(page);
    expect(served.headers.get('vary')).toContain('Origin');
    const elsewhere = await call('/browser/x', paying.apiKey, {
      headers: { origin: 'https://evil.example' },
    });
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
    const balance = await eventually(
      () => operator('GET', `/v1/customers/${paying.customerId}/balance`),
      (b) => b.available === 0,
      10_000,
    );
    expect(balance.available).toBe(0);
  });

  it('413 payload-too-large past BODY_LIMIT_BYTES, without charging', async () => {
    const c = await customer('Large', 3);
    const response = await call('/demo/x', c.apiKey, {
      method: 'POST',
      body: 'x'.repeat(2048),
      headers: { 'content-type': 'text/plain' },
    });
    const problem = await expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
    expect(problem.limit).toBe(1024);
    // Without Content-Length (chunked) the body is measured as it streams.
    const chunked = await new Promise<{ status: number; body: Json; connection?: string }>(
      (resolve, reject) => {
        const req = httpRequest(`${stack.url('gateway')}/demo/x`, {
          method: 'POST',
          headers: { 'x-api-key': c.apiKey, 'content-type': 'text/plain' },
        });
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString()),
              connection: res.headers.connection,
            }),
          );
        });
        req.on('error', reject);
        for (let i = 0; i < 4; i++) req.write('y'.repeat(1000));
        req.end();
      },
    );
    expect(chunked.status).toBe(413);
    expect(chunked.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', limit: 1024 });
    // The rest of that body was never read: the answer closes the connection, where the
    // caller's next request would otherwise wait behind it.
    expect(chunked.connection).toBe('close');
    // A small chunked body goes through.
    const small = await call('/demo/x', c.apiKey, {
      method: 'POST',
      body: Readable.from([Buffer.from('hello')]),
      headers: { 'content-type': 'text/plain' },
      duplex: 'half',
    });
    expect(small.status).toBe(200);
    expect(((await small.json()) as Json).receivedBytes).toBe(5);
    // Nothing was charged for the refused bodies.
    const balance = await eventually(
      () => operator('GET', `/v1/customers/${c.customerId}/balance`),
      (b) => b.available === 2,
      10_000,
    );
    expect(balance.available).toBe(2);
  });

  it('meters an upstream 5xx only on a route that says so (meterUpstreamErrors)', async () => {
    const c = await customer('Upstream errors', 3);
    expect((await call('/demo/fail', c.apiKey)).status).toBe(503);
    expect((await call('/metered5xx/fail', c.apiKey)).status).toBe(503);
    const usage = await eventually(
      async () =>
        (await (
          await fetch(
            `${stack.url('metering')}/v1/usage?customerId=${c.customerId}&meterKey=api_requests`,
            { headers: admin },
          )
        ).json()) as Json,
      (u) => u.total.value >= 1,
      30_000,
    );
    expect(usage.total).toEqual({ value: 1, events: 1 });
    const balance = await eventually(
      () => operator('GET', `/v1/customers/${c.customerId}/balance`),
      (b) => b.available === 2 && b.reserved === 0,
      30_000,
    );
    expect(balance).toMatchObject({ available: 2, reserved: 0 });
  });

  it('502 upstream-unavailable and 504 upstream-timeout give the units back', async () => {
    const c = await customer('Upstreams', 2);
    await expectProblem(await call('/dead/x', c.apiKey), 502, 'UPSTREAM_UNAVAILABLE');
    await expectProblem(await call('/slow/x', c.apiKey), 504, 'UPSTREAM_TIMEOUT');
    // Neither request was served, so both units are still the customer's.
    const balance = await eventually(
      () => operator('GET', `/v1/customers/${c.customerId}/balance`),
      (b) => b.available === 2,
      10_000,
    );
    expect(balance).toMatchObject({ available: 2, reserved: 0 });
  });

  it('408 request-timeout for a caller that stops sending its body; the units go back', async () => {
    const c = await customer('Stalled upload', 2);
    const gateway = new URL(stack.url('gateway'));
    const socket = connect(Number(gateway.port), gateway.hostname);
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (chunk) => (answer += String(chunk)));
    // Two bytes of the ten announced, then nothing: past UPSTREAM_TIMEOUT_MS (500 ms).
    socket.write(
      `POST /demo/upload HTTP/1.1\r\nHost: ${gateway.host}\r\nx-api-key: ${c.apiKey}\r\n` +
        'content-type: text/plain\r\ncontent-length: 10\r\n\r\nab',
    );
    await once(socket, 'end');
    socket.destroy();
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408 /);
    expect(head).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(head).toMatch(/\r\nx-request-id: \S+/i);
    // The rest of the body will not come: the connection is not kept for another request.
    expect(head).toMatch(/\r\nconnection: close/i);
    expect(JSON.parse(body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1))).toMatchObject({
      status: 408,
      code: 'REQUEST_TIMEOUT',
    });
    const balance = await eventually(
      () => operator('GET', `/v1/customers/${c.customerId}/balance`),
      (b) => b.available === 2 && b.reserved === 0,
      10_000,
    );
    expect(balance).toMatchObject({ available: 2, reserved: 0 });
  });

  it('charges a caller that hangs up once the upstream has its request, not one that hangs up before', async () => {
    const c = await customer('Hang-ups', 3);
    // The upstream has the whole request (it answers /slow after 2 s) when its caller leaves:
    // the work is done or under way, so it is charged, logged and metered as 499.
    const requestId = `left-${Date.now()}`;
    const leaving = new AbortController();
    const left = call('/slow/x', c.apiKey, {
      headers: { 'x-request-id': requestId },
      signal: leaving.signal,
    }).catch((err: Error) => err);
    setTimeout(() => leaving.abort(), 200);
    expect(await left).toMatchObject({ name: 'AbortError' });
    // A caller that leaves while its body is still on the way: the upstream never had the
    // request whole, so nothing is charged.
    const gateway = new URL(stack.url('gateway'));
    const socket = connect(Number(gateway.port), gateway.hostname);
    await once(socket, 'connect');
    socket.write(
      `POST /demo/upload HTTP/1.1\r\nHost: ${gateway.host}\r\nx-api-key: ${c.apiKey}\r\n` +
        'content-type: text/plain\r\ncontent-length: 10\r\n\r\nab',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    const balance = await eventually(
      () => operator('GET', `/v1/customers/${c.customerId}/balance`),
      (b) => b.available === 2 && b.reserved === 0,
      30_000,
    );
    expect(balance).toMatchObject({ available: 2, reserved: 0 });
    const usage = (await (
      await fetch(
        `${stack.url('metering')}/v1/usage?customerId=${c.customerId}&meterKey=api_requests`,
        { headers: admin },
      )
    ).json()) as Json;
    expect(usage.total).toEqual({ value: 1, events: 1 });
    const line = await eventually(
      async () =>
        readFileSync(join(ARTIFACTS, 'problems-gateway.log'), 'utf8')
          .split('\n')
          .filter((l) => l.includes(requestId))
          .map((l) => JSON.parse(l))[0],
      (found) => found !== undefined,
      5_000,
    );
    expect(line).toMatchObject({ requestId, res: { statusCode: 499 } });
  });

  it('writes one JSON access line per request, with its request id', async () => {
    const c = await customer('Access log', 2);
    const requestId = `access-${Date.now()}`;
    const served = await call('/demo/x?secret=1', c.apiKey, {
      headers: { 'x-request-id': requestId },
    });
    expect(served.status).toBe(200);
    const lines = await eventually(
      async () =>
        readFileSync(join(ARTIFACTS, 'problems-gateway.log'), 'utf8')
          .split('\n')
          .filter((line) => line.includes(requestId))
          .map((line) => JSON.parse(line)),
      (found) => found.length > 0,
      5_000,
    );
    expect(lines).toEqual([
      expect.objectContaining({
        service: 'gateway',
        msg: 'request completed',
        requestId,
        // The query string stays out of the logs: it may carry secrets.
        req: { method: 'GET', url: '/demo/x' },
        res: { statusCode: 200 },
      }),
    ]);
  });

  it('keeps serving while its standard output takes nothing (a stuck log pipe)', async () => {
    // A gateway whose stdout nobody reads: the pipe holds 64 KiB, and each request writes an
    // access line of ~300 bytes. Written synchronously line by line (LOG_BUFFER_BYTES=0), the
    // gateway would block on the full pipe and stop answering; buffered, it goes on (lines past
    // 16 MiB waiting would be dropped and counted).
    const port = 18982;
    const gateway = spawn(
      process.execPath,
      [join(__dirname, '..', 'dist/apps/gateway/src/main.js')],
      {
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: testConfig().databaseUrl,
          KAFKA_BROKERS: testConfig().kafkaBrokers.join(','),
          KAFKA_PREFIX: testConfig().kafkaPrefix,
          ADMIN_TOKEN,
          LOG_LEVEL: 'info',
          HTTP_PORT: String(port),
          ADMIN_HTTP_PORT: String(port + 1000),
          ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
          ROUTES_FILE: join(ARTIFACTS, 'routes.problems.json'),
          CHANGES_GROUP_ID: `paygate-e2e-stuck-stdout-${Date.now()}`,
        },
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    gateway.stdout?.pause();
    try {
      const base = `http://127.0.0.1:${port}`;
      await eventually(
        () =>
          fetch(`${base}/ready`).then(
            (r) => r.status,
            () => 0,
          ),
        (status) => status === 200,
        60_000,
      );
      const c = await customer('Stuck stdout', 1_000);
      const statuses: number[] = [];
      for (let batch = 0; batch < 20; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 50 }, async () => {
            const r = await call(
              '/demo/x',
              c.apiKey,
              { signal: AbortSignal.timeout(10_000) },
              base,
            );
            await r.arrayBuffer();
            return r.status;
          }),
        );
        statuses.push(...answers);
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(1_000);
    } finally {
      gateway.stdout?.resume();
      gateway.kill('SIGKILL');
      await once(gateway, 'exit');
    }
  });
});
