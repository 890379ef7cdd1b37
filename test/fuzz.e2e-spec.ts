import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, Stack } from './support/stack';

/**
 * Property-based fuzzing of every HTTP surface (issue: bad input gave 500s and answers that
 * were not problems). Seeded and reproducible: `FUZZ_SEED=<n> FUZZ_RUNS=<n>` re-runs a failing
 * case; the seed is printed with every failure. For each surface, every answer must be below
 * 500, and every answer of 400 or more an RFC 9457 problem (`application/problem+json` with
 * type, title, status and detail) carrying `X-Request-Id`, with no stack trace or SQL text.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SERVICE_TOKEN = 'e2e-fuzz-service-token-0123456789';

// JSON bodies are read field by field, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** What no answer may contain: stack frames, SQL, driver errors. */
const LEAKS = [
  /\n\s+at [^\n]+:\d+:\d+/,
  /\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b[^"]*\b(FROM|SET|VALUES|WHERE)\b/,
  /relation "|syntax error at or near|violates (check|foreign key|unique) constraint/,
  /QueryFailedError|TypeError|ReferenceError|node_modules/,
];

const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Undefined when the answer is acceptable, else why not. */
function violation(c: Case, answer: Answer): string | undefined {
  // The one 5xx allowed: 501 for a method no server of ours implements (RFC 9110 §15.6.2).
  const notImplemented = answer.status === 501 && !KNOWN_METHODS.includes(c.method);
  if (answer.status >= 500 && !notImplemented) return `status ${answer.status}`;
  for (const leak of LEAKS) if (leak.test(answer.text)) return `leaks ${leak}`;
  if (answer.status < 400) return undefined;
  if (!answer.headers['x-request-id']) return 'no X-Request-Id';
  const type = String(answer.headers['content-type'] ?? '');
  if (!type.startsWith('application/problem+json')) return `content-type ${type}`;
  if (c.method === 'HEAD') return answer.text === '' ? undefined : 'a body on HEAD';
  let body: Json;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return 'problem body is not JSON';
  }
  for (const member of ['type', 'title', 'status', 'detail'])
    if (body?.[member] === undefined) return `problem without ${member}`;
  if (body.status !== answer.status) return `problem status ${body.status} ≠ ${answer.status}`;
  // Bad input names what to correct: every 400 lists its failing fields.
  const named = (e: Json) =>
    typeof e?.field === 'string' &&
    e.field !== '' &&
    Array.isArray(e.messages) &&
    e.messages.length;
  if (answer.status === 400 && !(Array.isArray(body.errors) && body.errors.length > 0))
    return 'a 400 without errors';
  if (answer.status === 400 && !body.errors.every(named)) return 'a 400 error without field';
  return undefined;
}

/** Sends a case; undefined when the HTTP client itself refuses to send it (not our answer). */
async function send(base: string, c: Case): Promise<Answer | undefined> {
  let response;
  try {
    response = await request(`${base}${c.path}`, {
      method: c.method,
      headers: c.headers,
      body: c.body,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    // undici validates what it sends (methods, header values, URLs): such a case never left.
    if (code === 'UND_ERR_INVALID_ARG' || err instanceof TypeError) return undefined;
    throw err;
  }
  return {
    status: response.statusCode,
    headers: response.headers,
    text: await response.body.text(),
  };
}

// ---- generators -------------------------------------------------------------------------

const weird = fc.oneof(
  fc.constant(null),
  fc.constant(''),
  fc.constant('\u0000'),
  fc.constant('a\u0000b'),
  fc.constant('\uD800'),
  fc.constant(2 ** 60),
  fc.constant(-1),
  fc.constant(1.5),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.constant('9'.repeat(400)),
  fc.constant([]),
  fc.constant({}),
  fc.constant(true),
  fc.constant('x'.repeat(5000)),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A valid body with some fields replaced by odd values, dropped or added. */
function mutated(template: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(template);
  return fc
    .tuple(
      fc.subarray(keys),
      fc.array(weird, { minLength: keys.length, maxLength: keys.length }),
      fc.subarray(keys, { maxLength: Math.min(1, keys.length) }),
      fc.option(fc.tuple(fc.string({ maxLength: 12 }), weird), { nil: undefined }),
    )
    .map(([replaced, values, dropped, extra]) => {
      const body: Record<string, unknown> = { ...template };
      replaced.forEach((k, i) => (body[k] = values[i]));
      for (const k of dropped) delete body[k];
      if (extra) body[extra[0]] = extra[1];
      return body;
    });
}

const deepJson = fc
  .integer({ min: 100, max: 5000 })
  .chain((n) =>
    fc
      .constantFrom('[', '{"a":')
      .map((open) =>
        open === '[' ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n),
      ),
  );

const rawBody = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  deepJson,
  fc.constantFrom('{', '{"a":1,"a":2}', '[1,2', 'null', '""', '{"__proto__":{"x":1}}', '\u0000'),
);

function bodyFor(template: Record<string, unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: mutated(template).map((b) => JSON.stringify(b)) },
    { weight: 2, arbitrary: rawBody },
  );
}

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/cloudevents+json',
  'application/cloudevents-batch+json',
  'multipart/form-data; boundary=x',
  'application/xml',
  '',
);

/** A path parameter: a real id, a random one, or something odd. */
function param(real: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(real) },
    { weight: 2, arbitrary: fc.uuid() },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '%00',
        '%zz',
        '..',
        '%2e%2e',
        '%2F',
        'a%00b',
        'x'.repeat(3000),
        '%E2%82',
        '-1',
        '9'.repeat(40),
        '%20',
        'null',
      ),
    },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent) },
  );
}

const method = fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'FOO');

const auth = (token: string) =>
  fc.constantFrom(
    { authorization: `Bearer ${token}` },
    { authorization: `Bearer ${token}` },
    { authorization: `bearer ${token}` },
    { authorization: 'Bearer wrong-token-0123456789' },
    { authorization: `Basic ${Buffer.from(`a:${token}`).toString('base64')}` },
    {} as Record<string, string>,
  );

const query = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.constantFrom('limit', 'from', 'to', 'since', 'reason', 'customerId', 'meterKey', 'x'),
        fc.oneof(
          fc.constantFrom('-1', '1e99', '%00', 'null', '2026-13-45', '', '10', 'a'.repeat(500)),
          fc.string({ maxLength: 10 }).map(encodeURIComponent),
        ),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : '')),
);

describe('fuzzing every HTTP surface (e2e, property-based)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 14921,
      entitlementGrpc: 16951,
      metering: 14922,
      gateway: 19980,
      upstream: 14930,
    },
    'fuzz-',
  );
  let upstream: Awaited<ReturnType<typeof startDemoUpstream>>;
  let paying: Awaited<ReturnType<typeof seedDemoCustomer>>;
  let billingPath = '';
  // The metering cases touch only this meter: archiving or changing the shared api_requests
  // meter (a DELETE or PATCH case) would stop later suites' usage from being metered.
  const fuzzMeter = `fuzz_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement', 'metering', 'gateway'], { SERVICE_TOKENS: SERVICE_TOKEN });
    paying = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 1_000_000, 'Fuzz');
    // A real billing link, from a real 402.
    const broke = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'Fuzz broke');
    const refused = await fetch(`${stack.url('gateway')}/demo/hello`, {
      headers: { authorization: `Bearer ${broke.apiKey}` },
    });
    const problem: Json = await refused.json();
    billingPath = new URL(problem.link).pathname;
    const meter = await fetch(`${stack.url('metering')}/v1/meters`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        key: fuzzMeter,
        eventType: `dev.paygate.e2e.${fuzzMeter}`,
        aggregation: 'sum',
        valuePath: '$.n',
      }),
    });
    expect(meter.status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  /** Runs the property on one surface and reports the first failing case with its seed. */
  async function fuzz(base: string, cases: fc.Arbitrary<Case>): Promise<void> {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const answer = await send(base, c);
        if (!answer) return true;
        sent += 1;
        const why = violation(c, answer);
        if (why) {
          throw new Error(
            `${why}: ${c.method} ${c.path.slice(0, 200)} → ${answer.status} ${answer.text.slice(0, 300)}`,
          );
        }
        return true;
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // Most cases must have been sent (the client refuses only a few odd ones).
    expect(sent).toBeGreaterThan(RUNS * 0.8);
  }

  it('operator REST (entitlement): plans, customers, subscriptions, grants, keys, usage', async () => {
    const id = paying.customerId;
    const surfaces: [string, (p: string) => string, Record<string, unknown>][] = [
      [
        'POST',
        () => '/v1/plans',
        { key: 'fz', name: 'Fuzz', features: [{ key: 'requests', kind: 'boolean' }] },
      ],
      ['GET', () => '/v1/plans', {}],
      ['GET', (p) => `/v1/plans/${p}`, {}],
      ['POST', () => '/v1/customers', { name: 'Fuzz', email: 'a@b.c' }],
      ['PATCH', (p) => `/v1/customers/${p}`, { name: 'Renamed', blocked: false }],
      ['GET', (p) => `/v1/customers/${p}`, {}],
      [
        'POST',
        (p) => `/v1/customers/${p}/subscriptions`,
        { planId: paying.planId, status: 'active' },
      ],
      ['PATCH', () => `/v1/subscriptions/${paying.subscriptionId}`, { status: 'past_due' }],
      ['POST', (p) => `/v1/customers/${p}/grants`, { amount: 5, description: 'fuzz', priority: 1 }],
      ['GET', (p) => `/v1/customers/${p}/balance`, {}],
      ['GET', (p) => `/v1/customers/${p}/ledger`, {}],
      ['POST', (p) => `/v1/customers/${p}/api-keys`, { name: 'fuzz', scopes: ['a'] }],
      ['DELETE', (p) => `/v1/api-keys/${p}`, {}],
      ['GET', (p) => `/v1/customers/${p}/usage`, {}],
      ['POST', () => '/v1/webhooks/stripe', { id: 'evt_1', type: 'invoice.paid' }],
    ];
    await fuzz(
      stack.url('entitlement'),
      fc
        .tuple(fc.constantFrom(...surfaces), fc.option(method, { freq: 4 }), param(id), query)
        .chain(([[m, path, template], other, p, q]) =>
          fc.record({
            method: fc.constant(other ?? m),
            path: fc.constant(`${path(p)}${q}`),
            headers: fc
              .tuple(auth(ADMIN_TOKEN), contentType, fc.option(fc.uuid(), { nil: undefined }))
              .map(([a, ct, idem]) => ({
                ...a,
                ...(ct ? { 'content-type': ct } : {}),
                ...(idem ? { 'idempotency-key': idem } : {}),
              })),
            body: bodyFor(template),
          }),
        )
        .map((c) => (['GET', 'HEAD', 'DELETE'].includes(c.method) ? { ...c, body: undefined } : c)),
    );
  }, 600_000);

  it('metering admin and ingest: meters, usage, dead letters, events', async () => {
    const event = {
      specversion: '1.0',
      id: 'fz-1',
      source: 'fuzz',
      type: 'dev.paygate.request.served',
      subject: paying.customerId,
      time: new Date().toISOString(),
      data: { units: 1 },
    };
    const surfaces: [string, (p: string) => string, Record<string, unknown>, string][] = [
      [
        'POST',
        () => '/v1/meters',
        { key: 'fz_meter', eventType: 'dev.fz', aggregation: 'sum', valuePath: '$.n' },
        ADMIN_TOKEN,
      ],
      ['GET', () => '/v1/meters', {}, ADMIN_TOKEN],
      ['GET', (p) => `/v1/meters/${p}`, {}, ADMIN_TOKEN],
      ['PATCH', (p) => `/v1/meters/${p}`, { description: 'x', valuePath: '$.m' }, ADMIN_TOKEN],
      ['GET', () => '/v1/usage', {}, ADMIN_TOKEN],
      ['GET', () => '/v1/usage/unmatched', {}, ADMIN_TOKEN],
      ['GET', () => '/v1/dead-letters', {}, ADMIN_TOKEN],
      // Replay only with a wrong token: a valid one would put other tests' letters back.
      [
        'POST',
        () => '/v1/dead-letters/replay',
        { reason: 'late', limit: 1 },
        'not-the-token-0123456789',
      ],
      ['POST', () => '/events', event, SERVICE_TOKEN],
    ];
    await fuzz(
      stack.url('metering'),
      fc
        .tuple(
          fc.constantFrom(...surfaces),
          fc.option(method, { freq: 4 }),
          param(fuzzMeter),
          query,
        )
        .chain(([[m, path, template, token], other, p, q]) =>
          fc.record({
            method: fc.constant(other ?? m),
            path: fc.constant(`${path(p)}${q}`),
            headers: fc.tuple(auth(token), contentType).map(([a, ct]) => ({
              ...(token.startsWith('not-') ? { authorization: `Bearer ${token}` } : a),
              ...(ct ? { 'content-type': ct } : {}),
            })),
            body: fc.oneof(
              bodyFor(template),
              mutated(event).map((e) => JSON.stringify([e, { ...event, id: randomUUID() }])),
            ),
          }),
        )
        .map((c) => (['GET', 'HEAD', 'DELETE'].includes(c.method) ? { ...c, body: undefined } : c)),
    );
  }, 600_000);

  it('billing page: the signed link, its forms and made-up tokens', async () => {
    const token = billingPath.split('/').pop() ?? '';
    const tokens = fc.oneof(
      fc.constant(token),
      fc.constant(`${token.slice(0, -2)}xx`),
      fc.constant(token + '.'),
      param('x'),
    );
    await fuzz(
      stack.url('entitlement'),
      fc
        .record({
          method: fc.constantFrom('GET', 'POST', 'POST', 'PUT', 'HEAD', 'FOO'),
          path: fc
            .tuple(tokens, fc.constantFrom('', '/top-up', '/pay', '/manage', '/plan', '/x'), query)
            .map(([t, action, q]) => `/billing/${t}${action}${q}`),
          headers: fc
            .tuple(
              contentType,
              fc.constantFrom(undefined, 'http://evil.example', stack.url('entitlement'), 'null'),
            )
            .map(([ct, origin]) => ({
              ...(ct ? { 'content-type': ct } : {}),
              ...(origin ? { origin } : {}),
            })),
          body: fc.oneof(
            fc
              .tuple(
                fc.constantFrom('credits', 'csrf', 'nonce', 'plan', 'x'),
                fc.constantFrom('10', '-1', '1e99', '', '%00', 'abc', '9'.repeat(30)),
              )
              .map(([k, v]) => `${k}=${v}`),
            rawBody,
          ),
        })
        .map((c) => (['GET', 'HEAD'].includes(c.method) ? { ...c, body: undefined } : c)),
    );
  }, 600_000);

  it('gateway: any path, method, key and body', async () => {
    const keys = fc.constantFrom<Record<string, string>>(
      { authorization: `Bearer ${paying.apiKey}` },
      { authorization: `bearer ${paying.apiKey}` },
      { 'x-api-key': paying.apiKey },
      { authorization: 'Bearer pg_not_a_key' },
      { authorization: `Basic ${paying.apiKey}` },
      { 'x-api-key': 'x'.repeat(600) },
      {},
    );
    const path = fc
      .tuple(
        fc.constantFrom('/demo', '/demo/', '/nope', '', '/_paygate', '/metrics', '/ready'),
        fc.array(param('hello'), { maxLength: 4 }),
        query,
      )
      .map(([prefix, segments, q]) => `${prefix}/${segments.join('/')}${q}`.replace(/^\/\//, '/'));
    await fuzz(
      stack.url('gateway'),
      fc
        .record({
          method,
          path,
          headers: fc.tuple(keys, contentType).map(([k, ct]) => ({
            ...k,
            ...(ct ? { 'content-type': ct } : {}),
          })),
          body: rawBody,
        })
        .map((c) => (['GET', 'HEAD'].includes(c.method) ? { ...c, body: undefined } : c)),
    );
  }, 600_000);

  it('leaves every service healthy and ready, and the shared meter as it was', async () => {
    const shared: Json = await (
      await fetch(`${stack.url('metering')}/v1/meters/api_requests`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json();
    expect(shared).toMatchObject({ key: 'api_requests', eventType: 'dev.paygate.request.served' });
    expect(shared.archivedAt ?? null).toBeNull();
    for (const service of ['entitlement', 'metering', 'gateway'] as const) {
      expect((await fetch(`${stack.url(service)}/health`)).status).toBe(200);
      expect((await fetch(`${stack.url(service)}/ready`)).status).toBe(200);
    }
  });
});
