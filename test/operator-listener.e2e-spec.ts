import { connect } from 'node:net';
import { ADMIN_HEADERS, expectHiddenOnPublic, problemOf } from './support/operator-listener';
import { rawRequest } from './support/raw-call';
import { ADMIN_TOKEN, Stack } from './support/stack';

/**
 * The entitlement service with OPERATOR_HTTP_PORT: its public port serves what customers and
 * payment providers reach and answers the operator API as a path it does not have, however the
 * path is spelled; the operator port serves the API with the same edge handling.
 */
describe('entitlement operator listener (e2e)', () => {
  const stack = new Stack({
    entitlementHttp: 23501,
    entitlementGrpc: 23551,
    metering: 23502,
    gateway: 23580,
    upstream: 23540,
  });
  const OPERATOR_PORT = 23509;
  const admin = ADMIN_HEADERS;
  const publicUrl = () => stack.url('entitlement');
  const operatorUrl = `http://127.0.0.1:${OPERATOR_PORT}`;

  beforeAll(() => stack.start(['entitlement'], { OPERATOR_HTTP_PORT: String(OPERATOR_PORT) }));
  afterAll(() => stack.stop());

  it('serves the operator API on the operator port only', async () => {
    const created = await fetch(`${operatorUrl}/v1/customers`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Operator listener' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect((await fetch(`${operatorUrl}/v1/customers/${id}`, { headers: admin })).status).toBe(200);

    // On the public port: the 404 of a path it does not have, token or not, whatever spelling
    // reaches the same route (a percent-encoded letter, a query string), any method.
    const unknown = await problemOf(await fetch(`${publicUrl()}/no-such-path`), 404);
    await expectHiddenOnPublic(publicUrl(), [
      { method: 'GET', path: `/v1/customers/${id}` },
      { method: 'GET', path: `/%761/customers/${id}` },
      { method: 'GET', path: `/v1/customers/${id}?x=1` },
      { method: 'POST', path: '/v1/customers', body: JSON.stringify({ name: 'x' }) },
      { method: 'GET', path: '/docs' },
      { method: 'GET', path: '/docs/json' },
    ]);
    expect((await fetch(`${operatorUrl}/docs/json`)).status).toBe(200);

    // Nor are its methods told: a method the route does not take is a 404 too (405 with
    // Allow on the operator port).
    for (const [method, path] of [
      ['DELETE', `/v1/customers/${id}`],
      ['PUT', '/v1/customers'],
      ['PUT', '/docs'],
    ]) {
      const answer = await problemOf(await fetch(`${publicUrl()}${path}`, { method }), 404);
      expect(answer.code).toBe(unknown.code);
    }
    const notAllowed = await fetch(`${operatorUrl}/v1/customers/${id}`, {
      method: 'DELETE',
      headers: admin,
    });
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers.get('allow')).toContain('GET');

    // A body sent to a hidden route is not taken in: the 404 closes the connection.
    const chunked = await rawRequest(
      stack.ports.entitlementHttp,
      'POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${ADMIN_TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n`,
      3_000,
    );
    expect(chunked.status).toBe(404);
    expect(chunked.closed).toBe(true);
  });

  it('keeps what customers and payment providers reach on the public port', async () => {
    for (const path of ['/health', '/ready'])
      expect((await fetch(`${publicUrl()}${path}`)).status).toBe(200);
    // The webhook answers for itself (the stack sets its secret: a missing signature), not as
    // an unknown path.
    const webhook = await problemOf(
      await fetch(`${publicUrl()}/v1/webhooks/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
      400,
    );
    expect(webhook.detail).toMatch(/signature/i);
    // The billing page answers a bad link itself.
    const billing = await fetch(`${publicUrl()}/billing/not-a-token`);
    expect(billing.status).not.toBe(200);
    expect(await billing.text()).not.toMatch(/Cannot GET/);
  });

  it('gives bad input on the operator port the same problems as on the public one', async () => {
    const badJson = await problemOf(
      await fetch(`${operatorUrl}/v1/customers`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: '{"name": ',
      }),
      400,
    );
    expect(badJson.requestId).toBeTruthy();
    for (const [bytes, status] of [
      ['GARBAGE\r\n\r\n', 400],
      [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`, 431],
      ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 501],
    ] as const) {
      const answer = await rawRequest(OPERATOR_PORT, bytes);
      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.closed).toBe(true);
    }
  });

  // Last: the service shuts down.
  it('finishes a request in flight on the operator port when the service shuts down', async () => {
    const body = JSON.stringify({ name: 'Created while shutting down' });
    const socket = connect(OPERATOR_PORT, '127.0.0.1');
    let answer = '';
    const answered = new Promise((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString();
        resolve(undefined);
      }),
    );
    socket.write(
      `POST /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopped = stack.kill('entitlement', 'SIGTERM');
    // The rest of the body comes after the signal, well within the 3 s the drain allows.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    socket.write(body.slice(5));
    await answered;
    socket.destroy();
    await stopped;
    expect(answer).toMatch(/^HTTP\/1\.1 201 /);
  });
});
