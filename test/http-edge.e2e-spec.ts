import { randomUUID } from 'node:crypto';
import { request as httpRequest, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { DemoCustomer, seedDemoCustomer } from '../scripts/seed-demo';
import { rawRequest } from './support/raw-call';
import { ADMIN_TOKEN, Stack } from './support/stack';

// Problem bodies are checked with matchers, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const SERVICE_TOKEN = 'e2e-edge-service-token-0123456789';
/** What a body must never show: a stack trace, a module path or SQL. */
const LEAKS =
  /\bat [\w.<>]+ \(|node_modules|\.js:\d+|QueryFailedError|\bSELECT\b|\bINSERT INTO\b|\bUPDATE "|invalid byte sequence/;

/** A JSON text nested `levels` arrays deep around a value. */
const deepJson = (levels: number, inner = '1') => '['.repeat(levels) + inner + ']'.repeat(levels);

function expectProblemShape(
  status: number,
  headers: Record<string, string | null | undefined>,
  body: string,
  expected: number,
): Json {
  expect({ status, body: body.slice(0, 300) }).toMatchObject({ status: expected });
  expect(headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(headers['x-request-id']).toBeTruthy();
  expect(body).not.toMatch(LEAKS);
  const problem = JSON.parse(body);
  expect(problem).toMatchObject({ status: expected });
  for (const member of ['type', 'title', 'detail']) expect(typeof problem[member]).toBe('string');
  expect(problem.requestId).toBe(headers['x-request-id']);
  return problem;
}

async function expectProblem(response: Response, status: number): Promise<Json> {
  const headers = Object.fromEntries(response.headers.entries());
  return expectProblemShape(response.status, headers, await response.text(), status);
}

/**
 * Bad input at every HTTP surface (issue 15): parser-level garbage, framework errors, deep
 * JSON, NUL bytes, nulls, wrong types, unsupported media types, oversize bodies and gateway
 * paths that try to reach another route. Every answer is a 4xx (or 501) problem with a
 * request id, never a 5xx or a hang, and the services stay healthy.
 */
describe('bad input at the HTTP edge (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 14721,
      entitlementGrpc: 16751,
      metering: 14722,
      gateway: 19780,
      upstream: 14730,
    },
    'http-edge-',
  );
  let upstream: { server: Server; hits: () => number };
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const url = (service: 'entitlement' | 'metering' | 'gateway', path: string) =>
    `${stack.url(service)}${path}`;
  const send = (
    service: 'entitlement' | 'metering' | 'gateway',
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = admin,
  ) => fetch(url(service, path), { method, headers, body });

  let demo: DemoCustomer;
  let billingPath: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    const routes = stack.writeRoutes('http-edge', {
      demo: {},
      admin: { stripPrefix: false, scopes: ['admin'] },
      getonly: { methods: ['GET'] },
    });
    await stack.start(['entitlement', 'metering', 'gateway'], {
      ROUTES_FILE: routes,
      BODY_LIMIT_BYTES: '4096',
      SERVICE_TOKENS: SERVICE_TOKEN,
      BILLING_PAYMENT_PROVIDER: 'demo',
    });
    demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 100, 'Edge');
    ids.customer = demo.customerId;
    ids.subscription = demo.subscriptionId;
    ids.plan = demo.planId;
    const meter = await send(
      'metering',
      'POST',
      '/v1/meters',
      JSON.stringify({ key: 'edge_meter', eventType: 'dev.edge.used', aggregation: 'count' }),
    );
    expect(meter.status).toBe(201);
    // A customer without credits gets a 402 whose link opens the billing page.
    const broke = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'Broke');
    const refused = await fetch(url('gateway', '/demo/x'), {
      headers: { 'x-api-key': broke.apiKey },
    });
    const problem = (await refused.json()) as Json;
    expect(refused.status).toBe(402);
    billingPath = new URL(problem.link as string).pathname;
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  describe('what Node parser refuses, over a raw socket, on every service', () => {
    const services = ['entitlement', 'metering', 'gateway'] as const;
    const port = (s: (typeof services)[number]) =>
      ({
        entitlement: stack.ports.entitlementHttp,
        metering: stack.ports.metering,
        gateway: stack.ports.gateway,
      })[s];
    const cases: [string, string, number][] = [
      ['a request line that is not one', 'GARBAGE\r\n\r\n', 400],
      ['bare LF line ends', 'GET /health HTTP/1.1\nHost: x\n\n', 400],
      ['a bare LF inside the headers', 'GET /health HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n', 400],
      ['a header name with a space', 'GET /health HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n', 400],
      ['a NUL in a header value', 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n', 400],
      [
        'Content-Length and Transfer-Encoding together',
        'POST /v1/meters HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
      ],
      [
        'a transfer coding besides chunked',
        'POST /demo/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
        501,
      ],
      ['an unknown method', 'FOO /health HTTP/1.1\r\nHost: x\r\n\r\n', 501],
      // Node would answer a bare 417, without a body or a request id.
      [
        'an Expect other than 100-continue',
        'POST /v1/meters HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 2\r\n\r\nhi',
        417,
      ],
      ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 501],
      [
        'headers over 16 KB',
        `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`,
        431,
      ],
      ['a URI over 16 KB', `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
      // Node's parser takes these; every surface refuses them (headerFieldsProblem).
      ['HTTP/1.1 without Host', 'GET /v1/things HTTP/1.1\r\nAccept: */*\r\n\r\n', 400],
      ['HTTP/1.1 without Host, to /health', 'GET /health HTTP/1.1\r\n\r\n', 400],
      // Node's parser takes these versions and would answer in HTTP/1.1 as if nothing were odd.
      ['an HTTP/2.0 request line', 'GET /demo/x HTTP/2.0\r\nHost: x\r\n\r\n', 505],
      ['an HTTP/2.0 request line to /health', 'GET /health HTTP/2.0\r\nHost: x\r\n\r\n', 505],
      ['an HTTP/0.9 request line', 'GET /v1/things HTTP/0.9\r\n\r\n', 505],
      // Versions the parser refuses, and HTTP/2's preface (a client with prior knowledge).
      ['an HTTP/3.0 request line', 'GET /demo/x HTTP/3.0\r\nHost: x\r\n\r\n', 505],
      ['the HTTP/2 connection preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505],
      ['two Host fields', 'GET /v1/things HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
      [
        '1,001 header fields',
        `GET /v1/things HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 1000 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`,
        431,
      ],
    ];
    for (const service of services) {
      it.each(cases)(`${service}: %s → %i problem, socket closed`, async (_name, bytes, status) => {
        const answer = await rawRequest(port(service), bytes);
        expectProblemShape(answer.status, answer.headers, answer.body, status);
        expect(answer.closed).toBe(true);
      });

      it(`${service}: URI over 8 KB → 414; bad percent-encoding → 400; PROPFIND → 501`, async () => {
        const long = await rawRequest(
          port(service),
          `GET /v1/${'a'.repeat(9_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        expectProblemShape(long.status, long.headers, long.body, 414);
        for (const path of ['/v1/meters/%zz', '/demo/%E0%A4%A', '/v1/customers/%']) {
          const bad = await rawRequest(
            port(service),
            `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
          );
          expectProblemShape(bad.status, bad.headers, bad.body, 400);
        }
        const propfind = await rawRequest(
          port(service),
          'PROPFIND /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        );
        expectProblemShape(propfind.status, propfind.headers, propfind.body, 501);
      });
    }
  });

  it('gateway: a request target in absolute form is served as its path, when it names the Host', async () => {
    const host = `127.0.0.1:${stack.ports.gateway}`;
    const ask = (target: string) =>
      rawRequest(
        stack.ports.gateway,
        `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nx-api-key: ${demo.apiKey}\r\nConnection: close\r\n\r\n`,
      );
    const served = await ask(`http://${host}/demo/hello?x=1`);
    expect(served.status).toBe(200);
    // The upstream got the path, not the absolute form (the demo upstream echoes it; the body
    // is read raw, in chunks).
    expect(served.body).toContain('"path":"/hello?x=1"');
    const elsewhere = await ask('http://other.example/demo/hello');
    expectProblemShape(elsewhere.status, elsewhere.headers, elsewhere.body, 400);
  });

  it('every service: a body or headers that trickle in for 30 s → 408 problem, socket closed', async () => {
    // A byte every 5 s keeps the socket busy: only the body's own deadline ends it (on the
    // gateway's proxy path, its least rate, BODY_MIN_BYTES_PER_SECOND), or the headers'.
    const body = (path: string, headers = '') =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}` +
      'Content-Length: 100\r\n\r\n{"n';
    const answers = await Promise.all(
      (
        [
          [stack.ports.entitlementHttp, body('/v1/customers')],
          [stack.ports.metering, body('/v1/meters')],
          [stack.ports.gateway, body('/demo/x', `x-api-key: ${demo.apiKey}\r\n`)],
          // Headers that never end: a field's value grows a space every 5 s.
          [stack.ports.gateway, 'GET /demo/x HTTP/1.1\r\nHost: x\r\nX-Slow: a'],
        ] as const
      ).map(([port, bytes]) => rawRequest(port, bytes, 50_000, 5_000)),
    );
    for (const answer of answers) {
      expectProblemShape(answer.status, answer.headers, answer.body, 408);
      expect(answer.closed).toBe(true);
    }
  });

  describe('framework errors through fetch', () => {
    it('405 with Allow on a known path with the wrong method, on every service', async () => {
      const customers = await send('entitlement', 'DELETE', '/v1/customers');
      await expectProblem(customers, 405);
      expect(customers.headers.get('allow')).toBe('GET, HEAD, POST');
      const meters = await send('metering', 'PUT', '/v1/meters');
      await expectProblem(meters, 405);
      expect(meters.headers.get('allow')).toContain('POST');
      const gateway = await send('gateway', 'POST', '/getonly/x', '{}', {
        'x-api-key': demo.apiKey,
        'content-type': 'application/json',
      });
      await expectProblem(gateway, 405);
      expect(gateway.headers.get('allow')).toBe('GET');
    });

    it('415 for text/plain and form bodies on JSON endpoints', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const headers = { authorization: admin.authorization, 'content-type': type };
        await expectProblem(
          await send('entitlement', 'POST', '/v1/customers', 'name=x', headers),
          415,
        );
        await expectProblem(await send('metering', 'POST', '/v1/meters', 'key=x', headers), 415);
        await expectProblem(
          await send('metering', 'POST', '/events', 'x', {
            authorization: `Bearer ${SERVICE_TOKEN}`,
            'content-type': type,
          }),
          415,
        );
      }
    });

    it('the billing page still takes its HTML form', async () => {
      const response = await fetch(url('entitlement', `${billingPath}/top-up`), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `credits=5&nonce=${randomUUID()}`,
        redirect: 'manual',
      });
      expect(response.status).not.toBe(415);
      expect(response.status).toBeLessThan(500);
    });

    it('413 for a body over the limit', async () => {
      const big = JSON.stringify({ name: 'x'.repeat(1_100_000) });
      await expectProblem(await send('entitlement', 'POST', '/v1/customers', big), 413);
      await expectProblem(await send('metering', 'POST', '/v1/meters', big), 413);
      await expectProblem(
        await send('gateway', 'POST', '/demo/x', 'x'.repeat(5_000), {
          'x-api-key': demo.apiKey,
          'content-type': 'application/octet-stream',
        }),
        413,
      );
    });
  });

  describe('bodies', () => {
    it('3,000 levels of JSON: 400 naming the field, on every surface', async () => {
      const cases: [Promise<Response>, string][] = [
        [send('entitlement', 'POST', '/v1/customers', `{"name":${deepJson(3000)}}`), 'name'],
        [
          send(
            'entitlement',
            'PATCH',
            `/v1/customers/${ids.customer}`,
            `{"name":${deepJson(3000)}}`,
          ),
          'name',
        ],
        [send('entitlement', 'POST', '/v1/plans', deepJson(3000)), ''],
        [
          send(
            'metering',
            'POST',
            '/v1/meters',
            `{"key":"deep","eventType":"x","aggregation":"count","groupBy":${deepJson(3000)}}`,
          ),
          'groupBy',
        ],
        [
          send('metering', 'POST', '/events', `{"data":${deepJson(3000)}}`, {
            authorization: `Bearer ${SERVICE_TOKEN}`,
            'content-type': 'application/cloudevents+json',
          }),
          'data',
        ],
        [
          fetch(url('entitlement', `${billingPath}/top-up`), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: `{"credits":${deepJson(3000)}}`,
          }),
          'credits',
        ],
      ];
      for (const [pending, field] of cases) {
        const problem = await expectProblem(await pending, 400);
        expect(problem.errors[0].field).toMatch(new RegExp(`^${field}`));
        expect(problem.errors[0].messages[0]).toMatch(/nested more than 64 levels/);
      }
    });

    it('a NUL in a string or a path segment: 400, nothing reaches Postgres', async () => {
      const nulBodies: [Promise<Response>, string][] = [
        [send('entitlement', 'POST', '/v1/customers', '{"name":"a\\u0000b"}'), 'name'],
        [
          send('entitlement', 'PATCH', `/v1/customers/${ids.customer}`, '{"name":"\\u0000"}'),
          'name',
        ],
        [
          send(
            'entitlement',
            'POST',
            `/v1/customers/${ids.customer}/grants`,
            '{"amount":1,"description":"x\\u0000"}',
          ),
          'description',
        ],
        [
          send(
            'metering',
            'POST',
            '/v1/meters',
            '{"key":"nul","eventType":"a\\u0000","aggregation":"count"}',
          ),
          'eventType',
        ],
        [
          send(
            'metering',
            'POST',
            '/events',
            JSON.stringify({
              specversion: '1.0',
              id: 'nul-1',
              source: 'edge',
              type: 'dev.edge.used',
              subject: 'c\u0000',
              data: {},
            }),
            {
              authorization: `Bearer ${SERVICE_TOKEN}`,
              'content-type': 'application/cloudevents+json',
            },
          ),
          'subject',
        ],
        [
          fetch(url('entitlement', `${billingPath}/top-up`), {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `credits=5&nonce=%00`,
          }),
          'nonce',
        ],
      ];
      for (const [pending, field] of nulBodies) {
        const problem = await expectProblem(await pending, 400);
        expect(problem.errors).toEqual(
          expect.arrayContaining([expect.objectContaining({ field })]),
        );
      }
      for (const [service, path] of [
        ['entitlement', '/v1/customers/%00'],
        ['entitlement', `/v1/customers/${ids.customer}/usage?at=%00`],
        ['metering', '/v1/meters/a%00b'],
        ['metering', '/v1/usage?customerId=%00&meterKey=edge_meter'],
        ['entitlement', '/billing/%00'],
        ['gateway', '/demo/a%00b'],
      ] as const) {
        await expectProblem(
          await send(service, 'GET', path, undefined, { ...admin, 'x-api-key': demo.apiKey }),
          400,
        );
      }
    });

    it('a body in a content coding or a charset besides UTF-8: 415 saying which; the gateway forwards it as sent', async () => {
      const body = JSON.stringify({ name: 'coded' });
      const gzip = gzipSync(body);
      const post = (
        service: 'entitlement' | 'metering' | 'gateway',
        path: string,
        headers: Record<string, string>,
        payload: string | Buffer,
      ) => fetch(url(service, path), { method: 'POST', headers, body: payload });
      for (const [service, path, authorization] of [
        ['entitlement', '/v1/customers', admin.authorization],
        ['metering', '/v1/meters', admin.authorization],
        ['metering', '/events', `Bearer ${SERVICE_TOKEN}`],
      ] as const) {
        const json = { authorization, 'content-type': 'application/json' };
        const coded = await post(service, path, { ...json, 'content-encoding': 'gzip' }, gzip);
        expect(coded.headers.get('accept-encoding')).toBe('identity');
        expect((await expectProblem(coded, 415)).detail).toBe(
          'Content-Encoding gzip is not supported: send the body without a content coding (identity).',
        );
        // A plain body labelled br is not read as if it were not labelled.
        const labelled = await post(service, path, { ...json, 'content-encoding': 'br' }, body);
        expect((await expectProblem(labelled, 415)).detail).toMatch(/^Content-Encoding br is/);
        const utf16 = await post(
          service,
          path,
          { authorization, 'content-type': 'application/json; charset=utf-16' },
          Buffer.from(body, 'utf16le'),
        );
        expect((await expectProblem(utf16, 415)).detail).toMatch(/^charset utf-16 is not/);
      }
      // The proxy streams a body to the upstream untouched: its coding is the upstream's business.
      const proxied = await post(
        'gateway',
        '/demo/coded',
        {
          'x-api-key': demo.apiKey,
          'content-type': 'application/json; charset=utf-16',
          'content-encoding': 'gzip',
        },
        gzip,
      );
      expect(proxied.status).toBe(200);
      expect(await proxied.json()).toMatchObject({
        receivedBytes: gzip.length,
        headers: { 'content-encoding': 'gzip', 'content-type': 'application/json; charset=utf-16' },
      });
    });

    it('metering: a ce- header or Content-Type sent twice (raw bytes) → 400 naming it; once → 202', async () => {
      const data = '{"n":1}';
      const events = (lines: string) =>
        rawRequest(
          stack.ports.metering,
          `POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${SERVICE_TOKEN}\r\n` +
            'ce-specversion: 1.0\r\nce-source: edge\r\nce-type: dev.edge.used\r\n' +
            `ce-subject: ${demo.customerId}\r\nce-time: ${new Date().toISOString()}\r\n` +
            `${lines}Content-Length: ${data.length}\r\nConnection: close\r\n\r\n${data}`,
        );
      const json = 'Content-Type: application/json\r\n';
      for (const [lines, field] of [
        // Node would hand the controller `a1, a2`, and the event would be stored with that id.
        [`ce-id: a1\r\nce-id: a2\r\n${json}`, 'ce-id'],
        [`ce-id: a3\r\nCE-Subject: other\r\n${json}`, 'ce-subject'],
        // Node keeps the first Content-Type; another reader would take the last.
        [`ce-id: a4\r\n${json}Content-Type: text/plain\r\n`, 'content-type'],
      ]) {
        const twice = await events(lines);
        const problem = expectProblemShape(twice.status, twice.headers, twice.body, 400);
        expect(problem.errors).toEqual([{ field, messages: ['must be sent once'] }]);
      }
      const once = await events(`ce-id: edge-once-${randomUUID()}\r\n${json}`);
      expect({ status: once.status, body: once.body }).toEqual({
        status: 202,
        body: '{"accepted":1}',
      });
    });

    const nullCases: [string, string, string, Record<string, unknown>][] = [];
    const eachField = (
      label: string,
      method: string,
      path: string,
      valid: Record<string, unknown>,
      fields: string[],
    ) => {
      for (const field of fields) {
        const body = structuredClone(valid);
        const parts = field.split('.');
        let target: Json = body;
        for (const part of parts.slice(0, -1)) target = target[part];
        target[parts[parts.length - 1]] = null;
        nullCases.push([`${label} ${field}`, method, path, { body, field }]);
      }
    };
    const feature = {
      key: 'f',
      kind: 'metered',
      meterKey: 'm',
      includedUnits: 1,
      limitPolicy: 'credits',
      unitPrice: 1,
      usagePeriod: 'billing',
      softLimitPercent: 80,
      rateLimitRequests: 10,
      rateLimitWindowSeconds: 60,
    };
    eachField('create plan', 'POST', '/v1/plans', { key: 'p', name: 'P', features: [feature] }, [
      'key',
      'name',
      'features',
      ...Object.keys(feature).map((k) => `features.0.${k}`),
    ]);
    eachField('create customer', 'POST', '/v1/customers', { name: 'n', email: 'a@b.co' }, [
      'name',
      'email',
    ]);
    // email and stripeCustomerId take null in a PATCH: it clears them (operator-api e2e).
    eachField(
      'patch customer',
      'PATCH',
      '/v1/customers/:customer',
      { name: 'n', email: 'a@b.co', blocked: false, stripeCustomerId: 'cus_1' },
      ['name', 'blocked'],
    );
    eachField(
      'create subscription',
      'POST',
      '/v1/customers/:customer/subscriptions',
      {
        planId: ':plan',
        status: 'active',
        billingInterval: 'month',
        currentPeriodStart: '2026-01-01T00:00:00.000Z',
        currentPeriodEnd: '2026-02-01T00:00:00.000Z',
        gracePeriodSeconds: 10,
      },
      [
        'planId',
        'status',
        'billingInterval',
        'currentPeriodStart',
        'currentPeriodEnd',
        'gracePeriodSeconds',
      ],
    );
    eachField(
      'patch subscription',
      'PATCH',
      '/v1/subscriptions/:subscription',
      {
        status: 'active',
        cancelAtPeriodEnd: false,
        planId: ':plan',
        planChange: 'now',
        gracePeriodSeconds: 10,
      },
      ['status', 'cancelAtPeriodEnd', 'planId', 'planChange', 'gracePeriodSeconds'],
    );
    eachField(
      'create grant',
      'POST',
      '/v1/customers/:customer/grants',
      {
        amount: 1,
        description: 'd',
        source: 'promotion',
        priority: 1,
        effectiveAt: '2026-01-01T00:00:00.000Z',
        expiresAt: '2030-01-01T00:00:00.000Z',
      },
      ['amount', 'description', 'source', 'priority', 'effectiveAt', 'expiresAt'],
    );
    eachField(
      'create api key',
      'POST',
      '/v1/customers/:customer/api-keys',
      { name: 'k', scopes: ['a'], expiresAt: '2030-01-01T00:00:00.000Z' },
      ['name', 'scopes', 'scopes.0', 'expiresAt'],
    );

    it('an API key that would expire before it is handed out: 400 naming expiresAt', async () => {
      const problem = await expectProblem(
        await send(
          'entitlement',
          'POST',
          `/v1/customers/${ids.customer}/api-keys`,
          JSON.stringify({ expiresAt: '2020-01-01T00:00:00Z' }),
        ),
        400,
      );
      expect(problem.errors).toEqual([{ field: 'expiresAt', messages: ['must be in the future'] }]);
    });

    it.each(nullCases)('null in %s: 400 naming it (entitlement)', async (_l, method, path, c) => {
      const resolved = path.replace(/:(\w+)/g, (_m, name: string) => ids[name]);
      const body = JSON.stringify(c.body).replace(
        /":(\w+)"/g,
        (_m, name: string) => `"${ids[name]}"`,
      );
      const problem = await expectProblem(await send('entitlement', method, resolved, body), 400);
      expect(problem.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: c.field })]),
      );
    });

    const meterNulls: [string, string, string, string][] = [];
    const meter = {
      key: 'nulls',
      eventType: 'x',
      aggregation: 'sum',
      valuePath: '$.n',
      groupBy: { region: '$.region' },
      description: 'd',
    };
    for (const field of Object.keys(meter))
      meterNulls.push(['POST', '/v1/meters', field, JSON.stringify({ ...meter, [field]: null })]);
    for (const field of ['eventType', 'valuePath', 'groupBy', 'description'])
      meterNulls.push(['PATCH', '/v1/meters/edge_meter', field, JSON.stringify({ [field]: null })]);
    meterNulls.push([
      'POST',
      '/v1/meters',
      'groupBy.r',
      JSON.stringify({ ...meter, groupBy: { r: null } }),
    ]);

    it.each(meterNulls)(
      '%s %s with %s null (metering): 400 naming it',
      async (method, path, field, body) => {
        const problem = await expectProblem(await send('metering', method, path, body), 400);
        expect(problem.errors).toEqual(
          expect.arrayContaining([expect.objectContaining({ field })]),
        );
      },
    );

    it('null fields of an event: 400, none accepted', async () => {
      const event = {
        specversion: '1.0',
        id: 'e-null',
        source: 'edge',
        type: 'dev.edge.used',
        subject: demo.customerId,
        time: new Date().toISOString(),
        data: {},
      };
      for (const field of Object.keys(event)) {
        const response = await send(
          'metering',
          'POST',
          '/events',
          JSON.stringify({ ...event, [field]: null }),
          {
            authorization: `Bearer ${SERVICE_TOKEN}`,
            'content-type': 'application/cloudevents+json',
          },
        );
        await expectProblem(response, 400);
      }
    });

    it('wrong types, out-of-range numbers and non-object bodies: 400 naming the field', async () => {
      const cases: [string, string, string, string, string][] = [
        ['entitlement', 'POST', '/v1/customers', '{"name":5}', 'name'],
        ['entitlement', 'POST', '/v1/customers', '{"name":["x"]}', 'name'],
        [
          'entitlement',
          'POST',
          `/v1/customers/${ids.customer}/grants`,
          '{"amount":"10"}',
          'amount',
        ],
        [
          'entitlement',
          'POST',
          `/v1/customers/${ids.customer}/grants`,
          '{"amount":1e400}',
          'amount',
        ],
        [
          'entitlement',
          'POST',
          `/v1/customers/${ids.customer}/grants`,
          '{"amount":9007199254740992}',
          'amount',
        ],
        ['entitlement', 'POST', `/v1/customers/${ids.customer}/grants`, '{"amount":-1}', 'amount'],
        [
          'entitlement',
          'PATCH',
          `/v1/subscriptions/${ids.subscription}`,
          '{"gracePeriodSeconds":1.5}',
          'gracePeriodSeconds',
        ],
        ['entitlement', 'POST', '/v1/plans', '{"key":"p","name":"P","features":{}}', 'features'],
        ['entitlement', 'POST', '/v1/customers', '[]', 'body'],
        ['entitlement', 'POST', '/v1/customers', 'null', 'body'],
        ['entitlement', 'PATCH', `/v1/customers/${ids.customer}`, '"x"', 'body'],
        [
          'metering',
          'POST',
          '/v1/meters',
          '{"key":[],"eventType":"x","aggregation":"count"}',
          'key',
        ],
        ['metering', 'POST', '/v1/meters', '7', 'body'],
        // Date-times class-validator's ISO 8601 check took and the database refused (500).
        [
          'entitlement',
          'POST',
          `/v1/customers/${ids.customer}/grants`,
          '{"amount":1,"effectiveAt":"20240101"}',
          'effectiveAt',
        ],
        [
          'entitlement',
          'POST',
          `/v1/customers/${ids.customer}/api-keys`,
          '{"expiresAt":"2024-W01-1"}',
          'expiresAt',
        ],
        ['metering', 'GET', '/v1/dead-letters?since=2024', '', 'since'],
        [
          'metering',
          'GET',
          '/v1/usage?customerId=c&meterKey=api_requests&from=2024-01',
          '',
          'from',
        ],
        // Neither true nor false: refused, not read as false.
        ['metering', 'GET', '/v1/meters?includeArchived=1', '', 'includeArchived'],
        // A name every object has (`constructor`) is no group of the meter.
        [
          'metering',
          'GET',
          '/v1/usage?customerId=c&meterKey=api_requests&groupBy=constructor',
          '',
          'groupBy',
        ],
        // A lone surrogate, which jsonb refuses (the idempotency record: a 500 after the commit).
        ['entitlement', 'POST', '/v1/customers', '{"name":"a\\ud800"}', 'name'],
      ];
      for (const [service, method, path, body, field] of cases) {
        const problem = await expectProblem(
          await send(service as 'entitlement', method, path, body || undefined),
          400,
        );
        expect(problem.errors).toEqual(
          expect.arrayContaining([expect.objectContaining({ field })]),
        );
      }
    });
  });

  describe('gateway paths are normalized before routing', () => {
    /** Sends a path exactly as written (fetch would normalize it first). */
    const viaGateway = (path: string, apiKey = demo.apiKey) =>
      new Promise<{ status: number; headers: Record<string, string>; body: string }>(
        (resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port: stack.ports.gateway,
              path,
              headers: { 'x-api-key': apiKey },
            },
            (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () =>
                resolve({
                  status: res.statusCode ?? 0,
                  headers: res.headers as Record<string, string>,
                  body,
                }),
              );
            },
          );
          req.on('error', reject);
          req.end();
        },
      );

    it.each([
      ['/demo/./a//b/../c', '/a/c'],
      ['/demo/%2e/x', '/x'],
      ['/demo/%7euser/%41', '/~user/A'],
      ['/admin/../demo/y?q=1', '/y?q=1'],
      ['/x/../demo/%2e%2e/demo/z', '/z'],
    ])('%s reaches the upstream as %s', async (path, received) => {
      const answer = await viaGateway(path);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).path).toBe(received);
    });

    it.each([
      '/demo/../admin/secret',
      '/demo/%2e%2e/admin/secret',
      '/demo/.%2E/admin',
      '/demo//..//admin',
    ])('%s is routed as /admin/…: its scope applies, the upstream sees nothing', async (path) => {
      const before = upstream.hits();
      const answer = await viaGateway(path);
      expectProblemShape(answer.status, answer.headers, answer.body, 403);
      expect(upstream.hits()).toBe(before);
    });

    it.each([
      '/demo/%2fadmin',
      '/demo/a%2Fb',
      '/demo/%5cadmin',
      '/demo/..;/admin',
      '/demo/x%zz',
      // A fragment is not part of a request target: neither forwarded nor routed through.
      '/demo/x#frag',
      '/#/../demo/x',
    ])('%s is refused with 400 and never forwarded', async (path) => {
      const before = upstream.hits();
      const answer = await viaGateway(path);
      expectProblemShape(answer.status, answer.headers, answer.body, 400);
      expect(upstream.hits()).toBe(before);
    });

    it("says why in the caller's language, naming the path as the field to correct", async () => {
      const answer = await fetch(url('gateway', '/demo/a%2fb'), {
        headers: { 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' },
      });
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-language')).toBe('de');
      const body = (await answer.json()) as Json;
      expect(body.code).toBe('BAD_REQUEST');
      expect(body.detail).toBe(
        'Der Pfad darf keinen kodierten Schrägstrich oder Backslash enthalten.',
      );
      expect(body.errors).toEqual([{ field: 'path', messages: [body.detail] }]);
    });
  });

  it('every service is still healthy, by every check it has', async () => {
    const checks = {
      entitlement: ['postgres', 'outbox', 'usage-recorded-consumer'],
      metering: ['postgres', 'outbox', 'usage-consumer', 'customers-consumer'],
      gateway: ['entitlement', 'usage', 'entitlement-changes'],
    };
    for (const [service, names] of Object.entries(checks)) {
      const response = await fetch(url(service as keyof typeof checks, '/ready'));
      expect(response.status).toBe(200);
      const body = (await response.json()) as { checks: Record<string, string> };
      expect(body.checks).toEqual(Object.fromEntries(names.map((n) => [n, 'ok'])));
    }
  });
});
