import { once } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { waitFor } from '@paygate/testing';
import { request } from 'undici';
import { FrontDoor, frontDoorServer, pathOf } from './front-door';
import { INPUT_LIMITS } from './input-limits';

/** Things on a local socket happen within milliseconds: a hang fails in 2 s, not at jest's limit. */
const SOON = { timeoutMs: 2_000, intervalMs: 10 };

describe('frontDoorServer', () => {
  let server: Server;
  let origin: string;
  let closing = false;
  const doorSaw: { url: string; id: string }[] = [];
  const frameworkSaw: string[] = [];
  /** Responses of `/held/…` requests, left unanswered until the test ends them. */
  const held: ServerResponse[] = [];
  const door: FrontDoor = {
    routeLabel: '/*',
    takes: (path) => !path.startsWith('/own'),
    handle: (req, res, requestId) => {
      doorSaw.push({ url: req.url ?? '', id: requestId });
      if (req.url?.startsWith('/held/')) held.push(res);
      else res.end('door');
    },
  };
  const framework = (req: IncomingMessage, res: ServerResponse) => {
    frameworkSaw.push(req.url ?? '');
    res.end('framework');
  };

  beforeAll(async () => {
    server = frontDoorServer(door, framework, () => closing).listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    closing = false;
    doorSaw.length = 0;
    frameworkSaw.length = 0;
    held.length = 0;
  });

  const call = async (
    path: string,
    init: { method?: string; headers?: Record<string, string> } = {},
  ) => {
    const res = await request(`${origin}${path}`, init);
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };

  it('answers the paths the door takes, with a request id on the response', async () => {
    const res = await call('/v1/things?x=1');
    expect(res.text).toBe('door');
    expect(doorSaw).toEqual([{ url: '/v1/things?x=1', id: res.headers['x-request-id'] }]);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(frameworkSaw).toEqual([]);
  });

  it("keeps a caller's well-formed request id and replaces a malformed one", async () => {
    expect(
      (await call('/a', { headers: { 'x-request-id': 'caller-1' } })).headers['x-request-id'],
    ).toBe('caller-1');
    const replaced = await call('/a', { headers: { 'x-request-id': 'no spaces allowed' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('leaves every other path to the framework, and every path once closing', async () => {
    expect((await call('/own/health')).text).toBe('framework');
    closing = true;
    expect((await call('/v1/things')).text).toBe('framework');
    expect(frameworkSaw).toEqual(['/own/health', '/v1/things']);
    expect(doorSaw).toEqual([]);
  });

  it.each([
    ['with NUL', '/a%00b', 400, 'BAD_REQUEST'],
    ['with a bad escape', '/a%zzb', 400, 'BAD_REQUEST'],
    ['over the URL limit', `/${'a'.repeat(INPUT_LIMITS.urlLength)}`, 414, 'URI_TOO_LONG'],
  ])('refuses a target %s as a problem before the door sees it', async (_, path, status, code) => {
    const res = await call(path);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toBe('application/problem+json');
    const body = JSON.parse(res.text);
    expect(body.code).toBe(code);
    expect(body.requestId).toBe(res.headers['x-request-id']);
    expect(doorSaw).toEqual([]);
  });

  it('closes the responses of pipelined requests when the caller closes the connection first', async () => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      ['/held/1', '/held/2', '/held/3'].map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join(''),
    );
    await waitFor(() => held.length === 3, SOON);
    let closes = 0;
    for (const res of held) res.on('close', () => closes++);
    // One queued response cut short first (a timeout, a failed upstream): Node gives it no
    // 'close' while it has no socket; it gets one with the connection, like the others.
    held[2].destroy();
    socket.destroy();
    // The first has the socket (Node closes it); the two queued behind it are closed too.
    await waitFor(() => closes >= 3, SOON);
    expect(held.map((res) => res.destroyed)).toEqual([true, true, true]);
    // Once each: a response closed here is not closed again by Node.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closes).toBe(3);
  });

  it('leaves pipelined responses that are answered in turn to Node, without extra listeners', async () => {
    const accepted = once(server, 'connection');
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    const [serverSide] = (await accepted) as [Socket];
    const closeListeners = serverSide.listenerCount('close');
    let received = '';
    socket.on('data', (chunk) => (received += String(chunk)));
    socket.write(
      Array.from({ length: 20 }, (_, i) => `GET /held/${i} HTTP/1.1\r\nHost: a\r\n\r\n`).join(''),
    );
    await waitFor(() => held.length === 20, SOON);
    // Node's for the response on the socket, and one for the 19 queued behind it.
    expect(serverSide.listenerCount('close')).toBe(closeListeners + 2);
    const closes: number[] = [];
    held.forEach((res, i) => res.on('close', () => closes.push(i)));
    for (const res of held) res.end('ok');
    await waitFor(() => (received.match(/HTTP\/1\.1 200/g) ?? []).length === 20, SOON);
    // The connection keeps its one listener (and an empty set) until it closes.
    expect(serverSide.listenerCount('close')).toBe(closeListeners + 1);
    socket.destroy();
    await waitFor(() => closes.length === 20, SOON);
    expect(closes).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('answers a method paygate does not implement with 501', async () => {
    const res = await call('/v1/things', { method: 'PROPFIND' });
    expect(res.status).toBe(501);
    expect(JSON.parse(res.text).code).toBe('NOT_IMPLEMENTED');
    expect(doorSaw).toEqual([]);
  });
});

describe('pathOf', () => {
  it.each([
    ['/a/b?c=d', '/a/b'],
    ['/a', '/a'],
    ['/?', '/'],
  ])('%s → %s', (url, path) => expect(pathOf(url)).toBe(path));
});
