import { randomUUID } from 'node:crypto';
import { ADMIN_HEADERS, expectHiddenOnPublic, problemOf } from './support/operator-listener';
import { rawRequest } from './support/raw-call';
import { ADMIN_TOKEN, Stack, eventually } from './support/stack';

// Problem bodies are checked with matchers.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * The metering service with OPERATOR_HTTP_PORT: its public port keeps what other services reach
 * (`POST /events` with a service token, /health, /ready) and answers the operator API (meters,
 * usage, dead letters, /docs) as a path it does not have, token or not; the operator port
 * serves that API, with the same edge handling.
 */
describe('metering operator listener (e2e)', () => {
  const stack = new Stack({
    entitlementHttp: 24601,
    entitlementGrpc: 24651,
    metering: 24602,
    gateway: 24680,
    upstream: 24640,
  });
  const OPERATOR_PORT = 24609;
  const SERVICE_TOKEN = 'metering-operator-e2e-service-token';
  const admin = ADMIN_HEADERS;
  const publicUrl = () => stack.url('metering');
  const operatorUrl = `http://127.0.0.1:${OPERATOR_PORT}`;

  beforeAll(() =>
    stack.start(['metering'], {
      OPERATOR_HTTP_PORT: String(OPERATOR_PORT),
      SERVICE_TOKENS: SERVICE_TOKEN,
    }),
  );
  afterAll(() => stack.stop());

  it('serves the operator API on the operator port only', async () => {
    const key = `op_listener_${randomUUID().slice(0, 8)}`;
    const created = await fetch(`${operatorUrl}/v1/meters`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ key, eventType: `${key}.used`, aggregation: 'count' }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${operatorUrl}/v1/meters/${key}`, { headers: admin })).status).toBe(200);
    expect((await fetch(`${operatorUrl}/docs/json`)).status).toBe(200);

    // On the public port: the 404 of a path it does not have, however it is spelled.
    await expectHiddenOnPublic(publicUrl(), [
      { method: 'GET', path: `/v1/meters/${key}` },
      { method: 'GET', path: `/%761/meters/${key}` },
      { method: 'GET', path: '/v1/meters?x=1' },
      { method: 'POST', path: '/v1/meters', body: '{}' },
      { method: 'GET', path: '/v1/usage?customerId=c&meterKey=m' },
      { method: 'GET', path: '/v1/dead-letters' },
      { method: 'POST', path: '/v1/dead-letters/replay', body: '{}' },
      { method: 'GET', path: '/docs' },
      { method: 'GET', path: '/docs/json' },
    ]);

    // A body sent to a hidden route is not taken in: the 404 closes the connection.
    const chunked = await rawRequest(
      stack.ports.metering,
      'POST /v1/meters HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${ADMIN_TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n`,
      3_000,
    );
    expect(chunked.status).toBe(404);
    expect(chunked.closed).toBe(true);
  });

  it('takes usage on the public port, and the operator port reads it', async () => {
    for (const path of ['/health', '/ready'])
      expect((await fetch(`${publicUrl()}${path}`)).status).toBe(200);
    const key = `op_usage_${randomUUID().slice(0, 8)}`;
    const type = `${key}.used`;
    expect(
      (
        await fetch(`${operatorUrl}/v1/meters`, {
          method: 'POST',
          headers: { ...admin, 'content-type': 'application/json' },
          body: JSON.stringify({ key, eventType: type, aggregation: 'count' }),
        })
      ).status,
    ).toBe(201);
    const customerId = randomUUID();
    const time = new Date().toISOString();
    const posted = await fetch(`${publicUrl()}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SERVICE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: randomUUID(),
        source: '/metering-operator-e2e',
        type,
        subject: customerId,
        time,
        data: {},
      }),
    });
    expect(posted.status).toBeLessThan(300);
    // The same service token is no admin token on the operator port.
    await problemOf(
      await fetch(`${operatorUrl}/v1/meters`, {
        headers: { authorization: `Bearer ${SERVICE_TOKEN}` },
      }),
      401,
    );
    const from = new Date(Date.parse(time) - 3_600_000).toISOString();
    const to = new Date(Date.parse(time) + 3_600_000).toISOString();
    const query = `customerId=${customerId}&meterKey=${key}&from=${from}&to=${to}`;
    const total = await eventually(
      async () => {
        const usage = await fetch(`${operatorUrl}/v1/usage?${query}`, { headers: admin });
        expect(usage.status).toBe(200);
        return ((await usage.json()) as Json).total;
      },
      (t) => t.events > 0,
    );
    expect(total).toEqual({ value: 1, events: 1 });
  });

  it('gives bad input on the operator port the same problems as on the public one', async () => {
    const badJson = await problemOf(
      await fetch(`${operatorUrl}/v1/meters`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: '{"key": ',
      }),
      400,
    );
    expect(badJson.requestId).toBeTruthy();
    for (const [bytes, status] of [
      ['GARBAGE\r\n\r\n', 400],
      [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`, 431],
    ] as const) {
      const answer = await rawRequest(OPERATOR_PORT, bytes);
      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.closed).toBe(true);
    }
  });
});
