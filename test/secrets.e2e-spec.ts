import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { testConfig } from '../libs/testing/src/test-config';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, ARTIFACTS, Stack, eventually, readTopicUntil } from './support/stack';

/** This run's topics (test/support/global-setup.ts gives each run a prefix of its own). */
const topics = testConfig().topics;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SERVICE_TOKEN = 'e2e-secrets-service-token-0123456789';
const LABEL = 'secrets-';

/**
 * Reads a whole stream (kcat's or pg_dump's stdout) looking for any of the needles, without
 * holding it in memory: chunks overlap by the longest needle. Resolves with what was found,
 * how much was read and whether the command ran to its end within the time limit.
 */
function scan(
  command: string,
  args: string[],
  needles: string[],
  timeoutMs: number,
): Promise<{ found: string[]; bytes: number; complete: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const found = new Set<string>();
    const overlap = Math.max(...needles.map((n) => n.length));
    let tail = '';
    let bytes = 0;
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      bytes += chunk.length;
      const text = tail + chunk;
      for (const n of needles) if (text.includes(n)) found.add(n);
      tail = text.slice(-overlap);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ found: [...found], bytes, complete: !timedOut && code === 0, stderr });
    });
  });
}

/**
 * Issue 15, "secrets stay secret": API keys are never stored or sent anywhere in plaintext
 * (database, Kafka, logs; an idempotent replay answers them redacted), /metrics is only on
 * the admin listener, the billing page is bound to itself, bearer is case-insensitive, a bulk
 * replay needs an explicit filter, and every problem detail is filled.
 */
describe('secrets and admin endpoints (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 14821,
      entitlementGrpc: 16851,
      metering: 14822,
      gateway: 19880,
      upstream: 14830,
    },
    LABEL,
  );
  let upstream: { server: Server; hits: () => number };
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  /** Every API key this file created: none may be found anywhere at the end. */
  const keys: string[] = [];
  const customers: string[] = [];
  const keyIds: string[] = [];
  const operator = (path: string, init: RequestInit = {}) =>
    fetch(`${stack.url('entitlement')}${path}`, {
      ...init,
      headers: { ...admin, ...(init.headers as Record<string, string>) },
    });
  const call = (apiKey: string) =>
    fetch(`${stack.url('gateway')}/demo/hello`, { headers: { authorization: `Bearer ${apiKey}` } });

  beforeAll(async () => {
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement', 'metering', 'gateway'], {
      BILLING_PORTAL_URL_TEMPLATE: `http://127.0.0.1:${stack.ports.entitlementHttp}/billing/{token}`,
      BILLING_PAYMENT_PROVIDER: 'demo',
      SERVICE_TOKENS: SERVICE_TOKEN,
      UNKNOWN_METER_POLICY: 'dead-letter',
    });
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  it('answers a replayed key creation without the key, and the first one with it', async () => {
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 10, 'Secrets Co');
    customers.push(c.customerId);
    keys.push(c.apiKey);
    keyIds.push(c.apiKeyId);
    const path = `/v1/customers/${c.customerId}/api-keys`;
    const create = (idempotencyKey?: string) =>
      operator(path, {
        method: 'POST',
        headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
        body: JSON.stringify({ name: 'ci', scopes: [] }),
      });

    // Without an Idempotency-Key.
    const plain = await create();
    expect(plain.status).toBe(201);
    const plainBody = (await plain.json()) as Json;
    expect(plainBody.key).toMatch(/^pg_live_/);
    keys.push(plainBody.key);
    keyIds.push(plainBody.id);

    // With one, then replayed twice: the same key id, the secret left out, saying why.
    const idem = `secrets-${randomUUID()}`;
    const first = await create(idem);
    expect(first.status).toBe(201);
    const firstBody = (await first.json()) as Json;
    expect(firstBody.key).toMatch(/^pg_live_/);
    keys.push(firstBody.key);
    keyIds.push(firstBody.id);
    for (let i = 0; i < 2; i++) {
      const replay = await create(idem);
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      const body = (await replay.json()) as Json;
      expect(body).toMatchObject({
        id: firstBody.id,
        customerId: c.customerId,
        key: null,
        keyRedacted: true,
        prefix: firstBody.prefix,
        redaction: {
          type: 'https://paygate.dev/problems/secret-not-replayed',
          title: 'Secret not replayed',
        },
      });
      expect(JSON.stringify(body)).not.toContain(firstBody.key);
    }

    // Every key works at the gateway (so each went through its logs and usage events).
    for (const key of keys) expect((await call(key)).status).toBe(200);
    // A key put in the path by mistake, on a route, on no route and on the operator API: each
    // request is logged, the key's secret is not (the logs are searched below).
    const inPath = keys[0];
    expect((await fetch(`${stack.url('gateway')}/demo/${inPath}`)).status).toBe(401);
    expect((await fetch(`${stack.url('gateway')}/nosuch/${inPath}`)).status).toBe(404);
    expect((await operator(`/v1/customers/${inPath}`, {})).status).toBe(400);
    // A revocation puts an entitlement.changed event and an outbox row on the way.
    const revoked = await fetch(`${stack.url('entitlement')}/v1/api-keys/${plainBody.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(revoked.status).toBe(204);
    // Leases of the key end when the gateway hears of it (about a second).
    await eventually(
      async () => (await call(plainBody.key)).status,
      (status) => status === 401,
      10_000,
    );
  });

  it('keeps /metrics off the public ports: only the admin listener on 127.0.0.1 has it', async () => {
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'Metrics Co');
    customers.push(c.customerId);
    keys.push(c.apiKey);
    keyIds.push(c.apiKeyId);
    expect((await call(c.apiKey)).status).toBe(402);

    for (const service of ['gateway', 'entitlement', 'metering'] as const) {
      for (const headers of [{}, { authorization: `Bearer ${ADMIN_TOKEN}` }] as Record<
        string,
        string
      >[]) {
        const publicMetrics = await fetch(`${stack.url(service)}/metrics`, { headers });
        expect({ service, status: publicMetrics.status }).toEqual({ service, status: 404 });
        expect(await publicMetrics.text()).not.toContain('paygate_');
      }
      expect((await fetch(`${stack.url(service)}/health`)).status).toBe(200);
      expect((await fetch(`${stack.url(service)}/ready`)).status).toBe(200);
      const scraped = await fetch(stack.metricsUrl(service));
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('paygate_http_request_duration_seconds');
    }
    const gatewayMetrics = await (await fetch(stack.metricsUrl('gateway'))).text();
    expect(gatewayMetrics).toContain(c.customerId);
    expect(gatewayMetrics).toMatch(/paygate_gateway_402_total/);

    // Bound to the loopback interface only: another address of this machine gets no answer.
    const lan = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (lan) {
      const port = new URL(stack.metricsUrl('gateway')).port;
      await expect(fetch(`http://${lan}:${port}/metrics`)).rejects.toThrow();
    }
  });

  it('serves the billing page with CSP and friends, and takes only its own forms', async () => {
    const c = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 1, 'Billing Sec');
    customers.push(c.customerId);
    keys.push(c.apiKey);
    keyIds.push(c.apiKeyId);
    expect((await call(c.apiKey)).status).toBe(200);
    const refused = await call(c.apiKey);
    expect(refused.status).toBe(402);
    const { link } = (await refused.json()) as Json;
    const page = await fetch(link);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|script-src/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).not.toMatch(/<script/i);
    const nonce = /name="nonce" value="([0-9a-f-]{36})"/.exec(html)![1];

    const balance = async () =>
      ((await (await operator(`/v1/customers/${c.customerId}/balance`)).json()) as Json).available;
    const post = (form: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${link}/top-up`, {
        method: 'POST',
        headers,
        body: new URLSearchParams(form),
        redirect: 'manual',
      });
    const evil = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' };

    // What added credits before: a cross-origin post with a made-up nonce.
    const forged = await post({ credits: '500', nonce: randomUUID() }, evil);
    expect(forged.status).toBe(403);
    expect(forged.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    // The page's own token from another site, and a made-up one from no browser at all.
    expect((await post({ credits: '500', nonce }, evil)).status).toBe(403);
    expect((await post({ credits: '500', nonce }, { origin: 'null' })).status).toBe(403);
    expect((await post({ credits: '500', nonce: randomUUID() })).status).toBe(403);
    // Another customer's page token on this page.
    const other = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 0, 'Other');
    customers.push(other.customerId);
    keys.push(other.apiKey);
    keyIds.push(other.apiKeyId);
    const otherLink = ((await (await call(other.apiKey)).json()) as Json).link;
    const otherNonce = /name="nonce" value="([0-9a-f-]{36})"/.exec(
      await (await fetch(otherLink)).text(),
    )![1];
    expect((await post({ credits: '500', nonce: otherNonce })).status).toBe(403);
    expect(await balance()).toBe(0);

    // The page's own form, from the page: buys once, however often it is sent.
    const same = { origin: new URL(link).origin, 'sec-fetch-site': 'same-origin' };
    const bought = await post({ credits: '5', nonce }, same);
    expect(bought.status).toBe(303);
    expect(bought.headers.get('cache-control')).toBe('no-store');
    expect((await post({ credits: '5', nonce }, same)).status).toBe(303);
    expect(await balance()).toBe(5);
    // Used with another amount it buys nothing either: a used form is used up.
    expect((await post({ credits: '50', nonce }, same)).status).toBe(409);
    expect(await balance()).toBe(5);
    // The other forms check the origin too.
    expect(
      (await fetch(`${link}/pay`, { method: 'POST', headers: evil, redirect: 'manual' })).status,
    ).toBe(403);
  });

  it('takes the bearer scheme in any case on the operator, metering and ingest APIs', async () => {
    const customer = customers[0];
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const entitlement = await fetch(`${stack.url('entitlement')}/v1/customers/${customer}`, {
        headers: { authorization: `${scheme} ${ADMIN_TOKEN}` },
      });
      expect({ scheme, status: entitlement.status }).toEqual({ scheme, status: 200 });
      const meters = await fetch(`${stack.url('metering')}/v1/meters`, {
        headers: { authorization: `${scheme} ${ADMIN_TOKEN}` },
      });
      expect({ scheme, status: meters.status }).toEqual({ scheme, status: 200 });
    }
    const ingest = await fetch(`${stack.url('metering')}/events`, {
      method: 'POST',
      headers: {
        authorization: `bearer ${SERVICE_TOKEN}`,
        'content-type': 'application/cloudevents+json',
      },
      body: JSON.stringify({
        specversion: '1.0',
        id: randomUUID(),
        source: 'e2e/secrets',
        type: 'dev.example.secrets.unmetered',
        subject: customer,
        time: new Date().toISOString(),
        data: { n: 1 },
      }),
    });
    expect(ingest.status).toBe(202);
    const wrong = await fetch(`${stack.url('entitlement')}/v1/customers/${customer}`, {
      headers: { authorization: `bearer not-the-token-0123456789` },
    });
    expect(wrong.status).toBe(401);
  });

  it('refuses a dead-letter replay without an explicit filter, and says what a replay did', async () => {
    const replay = (body: unknown) =>
      fetch(`${stack.url('metering')}/v1/dead-letters/replay`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify(body),
      });
    // What put up to 10,000 letters back before: a null reason.
    for (const body of [
      { reason: null },
      {},
      { reason: 'unknown-meter', since: null },
      { reason: 'unknown-meter', limit: null },
      { reason: 'unknown-meter', limit: 100_000 },
    ]) {
      const response = await replay(body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    // The unmetered event of the previous case is dead-lettered; a replay names it.
    const since = new Date(Date.now() - 10 * 60_000).toISOString();
    await eventually(
      async () =>
        (await (
          await fetch(
            `${stack.url('metering')}/v1/dead-letters?reason=unknown-meter&since=${since}`,
            {
              headers: admin,
            },
          )
        ).json()) as Json,
      (l) => l.deadLetters.some((d: Json) => d.detail.includes('dev.example.secrets.unmetered')),
    );
    const done = await replay({ reason: 'unknown-meter', since, limit: 1 });
    expect(done.status).toBe(202);
    const report = (await done.json()) as Json;
    expect(report).toMatchObject({
      replayed: 1,
      filter: { reason: 'unknown-meter', since: expect.any(String), limit: 1 },
      remaining: expect.any(Number),
    });
    expect(report.letters).toHaveLength(1);
    expect(report.letters[0]).toEqual({
      topic: topics.usage,
      partition: expect.any(Number),
      offset: expect.any(Number),
    });
  });

  it('fills every detail of a 402 for a customer without a subscription', async () => {
    const customer = (await (
      await operator('/v1/customers', { method: 'POST', body: JSON.stringify({ name: 'No sub' }) })
    ).json()) as Json;
    customers.push(customer.id);
    const key = (await (
      await operator(`/v1/customers/${customer.id}/api-keys`, { method: 'POST', body: '{}' })
    ).json()) as Json;
    keys.push(key.key);
    keyIds.push(key.id);
    for (const language of ['en', 'de', 'fr', 'es', 'ja']) {
      const refused = await fetch(`${stack.url('gateway')}/demo/hello`, {
        headers: { 'x-api-key': key.key, 'accept-language': language },
      });
      expect(refused.status).toBe(402);
      const body = (await refused.json()) as Json;
      expect(body.code).toBe('FEATURE_NOT_IN_PLAN');
      expect({ language, detail: body.detail }).toEqual({
        language,
        detail: expect.not.stringMatching(/[{}]/),
      });
    }
  });

  it('has none of the keys it created in the database, on any topic, or in any log', async () => {
    expect(keys.length).toBeGreaterThanOrEqual(7);
    // The changes are on the topic before anything is read (outbox relay).
    await readTopicUntil(topics.entitlementChanged, (m) => m.value.includes(keyIds[1]));
    await stack.stop();

    // Another test run may have Postgres stopped for a while (metering-exactness): retry.
    const pgDump = (args: string[], needles: string[]) =>
      eventually(
        () => scan('pg_dump', ['--no-owner', ...args, testConfig().databaseUrl], needles, 120_000),
        (result) => !/Connection refused|the database system is/.test(result.stderr),
        120_000,
      );
    const dump = await pgDump([], keys);
    expect(dump.stderr).toBe('');
    expect(dump.complete).toBe(true);
    expect(dump.found).toEqual([]);
    // It is the right database: the keys' rows (by their non-secret prefix) are in it.
    const prefixes = await pgDump(
      ['--data-only', '--table=entitlement.api_keys'],
      keys.map((k) => k.slice(0, 14)),
    );
    expect(prefixes.found).toHaveLength(keys.length);

    const brokers = testConfig().kafkaBrokers.join(',');
    for (const topic of Object.values(topics)) {
      const read = await scan(
        'kcat',
        ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%h\t%s\n'],
        [...keys, ...customers],
        180_000,
      );
      expect({ topic, complete: read.complete }).toEqual({ topic, complete: true });
      expect({ topic, found: read.found.filter((f) => keys.includes(f)) }).toEqual({
        topic,
        found: [],
      });
      // Positive control: the usage and change topics do carry these customers' events.
      if (topic === topics.usage || topic === topics.entitlementChanged)
        expect(read.found.length).toBeGreaterThan(0);
    }

    const logs = readdirSync(ARTIFACTS).filter((f) => f.startsWith(LABEL) && f.endsWith('.log'));
    expect(logs.sort()).toEqual([
      `${LABEL}entitlement.log`,
      `${LABEL}gateway.log`,
      `${LABEL}metering.log`,
    ]);
    for (const file of logs) {
      const text = readFileSync(join(ARTIFACTS, file), 'utf8');
      expect(text.length).toBeGreaterThan(0);
      expect({ file, found: keys.filter((k) => text.includes(k)) }).toEqual({ file, found: [] });
      // Billing links' tokens are not logged either.
      expect(text).not.toMatch(/\/billing\/[A-Za-z0-9_-]{20,}\./);
    }
    // Positive control: the requests with a key in the path were logged, without its secret.
    const logOf = (service: string) =>
      readFileSync(join(ARTIFACTS, `${LABEL}${service}.log`), 'utf8');
    expect(logOf('gateway')).toContain('"/nosuch/pg_live_[redacted]"');
    expect(logOf('gateway')).toContain('"/demo/pg_live_[redacted]"');
    expect(logOf('entitlement')).toContain('"/v1/customers/pg_live_[redacted]"');
  }, 600_000);
});
